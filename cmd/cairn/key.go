package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/paperkey"
)

func newKeyCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Back up the owner key: as a paper key, or as shares for people you trust",
	}
	cmd.AddCommand(newKeyExportCommand(g), newKeySplitCommand(g), newKeyCombineCommand(g), newKeyImportCommand(g))
	return cmd
}

// keyPower says what a printed owner key is worth.
const keyPower = "lets anyone delete your objects, change their replication and\nread the catalog of what you own"

// paperKeyAnswer is the --json output of export and combine.
type paperKeyAnswer struct {
	PaperKey    string `json:"paper_key"`
	Fingerprint string `json:"fingerprint"`
}

// sharesAnswer is the --json output of split.
type sharesAnswer struct {
	Shares      []string `json:"shares"`
	Threshold   int      `json:"threshold"`
	Fingerprint string   `json:"fingerprint"`
}

func newKeyExportCommand(g *globals) *cobra.Command {
	var passphraseFile string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Print the owner key as a paper key, to write down and keep offline",
		Long: "Reads the owner key from the repository (asking for its passphrase if it is sealed) and\n" +
			"prints it as a paper key on standard output, with what it is on standard error.\n" +
			"Works whether or not the daemon runs.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			owner, err := g.readOwner(passphraseFile)
			if err != nil {
				return fmt.Errorf("key export: %w", err)
			}
			return printPaperKey(g, cmd, owner, "Paper key of the owner key %s:\n")
		},
	}
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the repository's passphrase from this file")
	return cmd
}

// readOwner reads the repository's owner key, unsealing it with the
// passphrase the way the daemon does.
func (g *globals) readOwner(passphraseFile string) (*keys.Owner, error) {
	r, err := g.openRepo()
	if err != nil {
		return nil, err
	}
	owner, _, err := unlockOwner(r, passphraseFile)
	return owner, err
}

// printPaperKey prints the owner's paper key: alone on standard output
// (so that `> file` keeps just the key), what it is on standard error.
func printPaperKey(g *globals, cmd *cobra.Command, owner *keys.Owner, title string) error {
	ans := paperKeyAnswer{PaperKey: paperkey.Encode(owner.Secret()), Fingerprint: owner.Fingerprint()}
	return g.print(cmd.OutOrStdout(), ans, func() {
		fmt.Fprintf(cmd.ErrOrStderr(), title, ans.Fingerprint)
		fmt.Fprintln(cmd.OutOrStdout(), ans.PaperKey)
		fmt.Fprintf(cmd.ErrOrStderr(), "This key alone %s.\nKeep it offline, on paper, out of reach.\n", keyPower)
	})
}

func newKeySplitCommand(g *globals) *cobra.Command {
	var (
		passphraseFile    string
		shares, threshold int
	)
	cmd := &cobra.Command{
		Use:   "split --shares N --threshold K",
		Short: "Print the owner key as N shares, any K of which restore it",
		Long: "Cuts the repository's owner key into N shares (Shamir's secret sharing): any K of\n" +
			"them restore the key with `cairn key combine`, fewer tell nothing about it. The shares\n" +
			"go to standard output, one per line; what to do with them to standard error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			owner, err := g.readOwner(passphraseFile)
			if err != nil {
				return fmt.Errorf("key split: %w", err)
			}
			texts, err := paperkey.Split(owner.Secret(), shares, threshold)
			if err != nil {
				return fmt.Errorf("key split: %w", err)
			}
			ans := sharesAnswer{Shares: texts, Threshold: threshold, Fingerprint: owner.Fingerprint()}
			return g.print(cmd.OutOrStdout(), ans, func() { printShares(cmd, ans) })
		},
	}
	cmd.Flags().IntVar(&shares, "shares", 0, "how many shares to make, at most 255 (required)")
	cmd.Flags().IntVar(&threshold, "threshold", 0, "how many shares restore the key, at least 2 (required)")
	cmd.Flags().StringVar(&passphraseFile, "passphrase-file", "", "read the repository's passphrase from this file")
	cmd.MarkFlagRequired("shares")
	cmd.MarkFlagRequired("threshold")
	return cmd
}

func printShares(cmd *cobra.Command, ans sharesAnswer) {
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "%d shares of the owner key %s; any %d of them restore it:\n", len(ans.Shares), ans.Fingerprint, ans.Threshold)
	for _, s := range ans.Shares {
		fmt.Fprintln(cmd.OutOrStdout(), s)
	}
	fmt.Fprintf(w, "Give each share to a different trusted person or operator, on paper.\n"+
		"Fewer than %d shares tell nothing about the key; any %d restore it, and the key\nalone %s.\n",
		ans.Threshold, ans.Threshold, keyPower)
}

func newKeyCombineCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "combine [FILE|-]...",
		Short: "Restore the owner key from enough of its shares, and print its paper key",
		Long: "Reads shares from the files named, or standard input ('-', the default): one per line,\n" +
			"separated by spaces, in any case, with or without dashes. Prints the paper key of the\n" +
			"owner key they restore, and its fingerprint, to compare with the one split printed.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"-"}
			}
			texts, err := readShareFiles(args, cmd.InOrStdin())
			if err != nil {
				return fmt.Errorf("key combine: %w", err)
			}
			secret, err := paperkey.Combine(texts)
			if err != nil {
				return fmt.Errorf("key combine: %w", err)
			}
			return printPaperKey(g, cmd, keys.FromSecret(secret), "The shares restore the owner key %s. Its paper key:\n")
		},
	}
}

// readShareFiles reads the shares in files, '-' being stdin (once).
func readShareFiles(names []string, stdin io.Reader) ([]string, error) {
	var texts []string
	for _, name := range names {
		text, err := readInput(name, &stdin)
		if err != nil {
			return nil, err
		}
		texts = append(texts, paperkey.FindShares(text)...)
	}
	return texts, nil
}

// readInput reads a file, or stdin for '-'; stdin can be read only once,
// after which *stdin is nil.
func readInput(name string, stdin *io.Reader) (string, error) {
	if name != "-" {
		data, err := os.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", name, err)
		}
		return string(data), nil
	}
	if *stdin == nil {
		return "", errors.New("standard input ('-') named twice")
	}
	data, err := io.ReadAll(*stdin)
	*stdin = nil
	if err != nil {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	return string(data), nil
}

// ownerKeyInput is the flag set of commands that take the owner key from
// outside a repository: a paper key, an owner.key file, or shares.
type ownerKeyInput struct {
	paperKey string   // a file holding a paper key, or '-'
	keyFile  string   // an owner.key file as a repository stores it
	shares   []string // files holding shares, or '-'
	flags    *pflag.FlagSet
}

// register adds --paper-key, --key-file and --share to fs, and
// --passphrase-file (for a sealed --key-file) unless fs has it already:
// call it after defining the command's own flags.
func (in *ownerKeyInput) register(fs *pflag.FlagSet) {
	in.flags = fs
	fs.StringVar(&in.paperKey, "paper-key", "", "read the owner key from this paper key file ('-' = stdin)")
	fs.StringVar(&in.keyFile, "key-file", "", "read the owner key from this owner.key file (if sealed: with --passphrase-file or CAIRN_PASSPHRASE)")
	fs.StringArrayVar(&in.shares, "share", nil, "read key shares from this file ('-' = stdin, which may hold several); repeatable")
	if fs.Lookup("passphrase-file") == nil {
		fs.String("passphrase-file", "", "read the passphrase of a sealed --key-file from this file")
	}
}

// given reports whether any of the flags names an owner key.
func (in *ownerKeyInput) given() bool {
	return in.paperKey != "" || in.keyFile != "" || len(in.shares) > 0
}

// read returns the owner key the flags name, exactly one way.
func (in *ownerKeyInput) read(stdin io.Reader) (*keys.Owner, error) {
	var given []string
	for _, k := range []struct {
		flag string
		set  bool
	}{{"--paper-key", in.paperKey != ""}, {"--key-file", in.keyFile != ""}, {"--share", len(in.shares) > 0}} {
		if k.set {
			given = append(given, k.flag)
		}
	}
	switch {
	case len(given) == 0:
		return nil, errors.New("no owner key given: use --paper-key FILE, --key-file FILE or --share FILE (repeatable)")
	case len(given) > 1:
		return nil, fmt.Errorf("the owner key is given more than one way (%s): use one", strings.Join(given, ", "))
	case in.paperKey != "":
		return in.readPaperKey(stdin)
	case in.keyFile != "":
		return in.readKeyFile()
	}
	return in.readShares(stdin)
}

func (in *ownerKeyInput) readPaperKey(stdin io.Reader) (*keys.Owner, error) {
	text, err := readInput(in.paperKey, &stdin)
	if err != nil {
		return nil, fmt.Errorf("--paper-key: %w", err)
	}
	secret, err := paperkey.Decode(text)
	if err != nil {
		return nil, fmt.Errorf("--paper-key %s: %w", in.paperKey, err)
	}
	return keys.FromSecret(secret), nil
}

func (in *ownerKeyInput) readKeyFile() (*keys.Owner, error) {
	data, err := os.ReadFile(in.keyFile)
	if err != nil {
		return nil, fmt.Errorf("--key-file: read %s: %w", in.keyFile, err)
	}
	var pass []byte
	if keys.Protected(data) {
		if pass, err = readPassphrase(in.flags.Lookup("passphrase-file").Value.String(), false); err != nil {
			return nil, fmt.Errorf("--key-file %s: %w", in.keyFile, err)
		}
	}
	owner, err := keys.Unmarshal(data, pass)
	if err != nil {
		return nil, fmt.Errorf("--key-file %s: %w", in.keyFile, err)
	}
	return owner, nil
}

func (in *ownerKeyInput) readShares(stdin io.Reader) (*keys.Owner, error) {
	texts, err := readShareFiles(in.shares, stdin)
	if err != nil {
		return nil, fmt.Errorf("--share: %w", err)
	}
	secret, err := paperkey.Combine(texts)
	if err != nil {
		return nil, fmt.Errorf("--share: %w", err)
	}
	return keys.FromSecret(secret), nil
}
