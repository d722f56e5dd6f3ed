package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// errNoTerminal is the answer when a passphrase is needed and there is no
// terminal to ask on: a service manager, nohup, setsid or a pipe.
var errNoTerminal = errors.New("a passphrase is needed, and there is no terminal to ask for it on (stdin is not one): " +
	"name a file holding it with --passphrase-file FILE, or set CAIRN_PASSPHRASE")

// readPassphrase finds the owner key's passphrase: a file named by a flag,
// the CAIRN_PASSPHRASE variable, or a prompt on the terminal.
func readPassphrase(file string, confirm bool) ([]byte, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read passphrase file: %w", err)
		}
		return bytes.TrimRight(data, "\r\n"), nil
	}
	if env := os.Getenv("CAIRN_PASSPHRASE"); env != "" {
		return []byte(env), nil
	}
	if !isTerminal(os.Stdin) {
		return nil, errNoTerminal
	}
	pass, err := prompt("Passphrase: ")
	if err != nil || !confirm {
		return pass, err
	}
	again, err := prompt("Passphrase again: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pass, again) {
		return nil, errors.New("the passphrases differ; nothing was written")
	}
	return pass, nil
}

// prompt reads one line from the terminal without echoing it.
func prompt(text string) ([]byte, error) {
	fmt.Fprint(os.Stderr, text)
	defer fmt.Fprintln(os.Stderr)
	fd := int(os.Stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	line, err := bufio.NewReader(os.Stdin).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return bytes.TrimRight(line, "\r\n"), nil
}
