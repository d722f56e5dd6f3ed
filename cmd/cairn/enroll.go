package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairn-fed/cairn/internal/atomicfile"
	"github.com/cairn-fed/cairn/node"
	"github.com/cairn-fed/cairn/node/api"
)

// A federation formed through a directory that the founder and the
// joiners share (a volume in compose): a joiner NAME writes its peer ID to
// NAME.peer; the founder, who was told beforehand which names to admit
// under which operator and region, admits that peer and writes its join
// token to NAME.token; the joiner joins with it. Whoever can write to the
// directory can have a named peer admitted, so it must be private to the
// nodes of one deployment. The authority key never leaves the founder.

// enrollName is what a member may be called in the directory: a file name.
var enrollName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// enrollToken is the content of NAME.token.
type enrollToken struct {
	PeerID string `json:"peer_id"`
	Token  string `json:"token"`
}

// enrollMember is one --member NAME=OPERATOR/REGION of `federation form`.
type enrollMember struct{ name, operator, region string }

func parseEnrollMember(s string) (enrollMember, error) {
	name, rest, ok := strings.Cut(s, "=")
	operator, region, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !enrollName.MatchString(name) || operator == "" || region == "" {
		return enrollMember{}, fmt.Errorf("--member %q: want NAME=OPERATOR/REGION, NAME of lowercase letters, digits, - and _", s)
	}
	return enrollMember{name, operator, region}, nil
}

func newFedFormCommand(g *globals) *cobra.Command {
	var (
		req     api.FederationRequest
		dir     string
		members []string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "form NAME --operator ORG --region REGION --dir DIR --member NAME=ORG/REGION...",
		Short: "Found a federation (unless this node has one) and admit the named members that ask through DIR",
		Long: `For deployments that start every node at once (compose): waits for this
node's daemon, creates the federation NAME unless the node already belongs to
one, then for each --member NAME=OPERATOR/REGION waits for DIR/NAME.peer
(written by ` + "`cairn federation request --name NAME`" + ` on that node), admits
the peer ID it holds and writes the join token to DIR/NAME.token. It ends
once every named member is in the roster. Anyone who can write to DIR can
have a named member admitted: share DIR only among the deployment's nodes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			want := make([]enrollMember, len(members))
			for i, m := range members {
				var err error
				if want[i], err = parseEnrollMember(m); err != nil {
					return err
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			req.Name = args[0]
			return formFederation(ctx, g, cmd, req, dir, want)
		},
	}
	operatorRegionFlags(cmd, &req)
	cmd.Flags().StringVar(&dir, "dir", "", "directory shared with the members (required)")
	cmd.Flags().StringArrayVar(&members, "member", nil, "NAME=OPERATOR/REGION of a member to admit (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	cmd.MarkFlagRequired("dir")
	return cmd
}

func formFederation(ctx context.Context, g *globals, cmd *cobra.Command, req api.FederationRequest, dir string, want []enrollMember) error {
	c, err := waitForDaemon(ctx, g)
	if err != nil {
		return err
	}
	info, err := showFederation(ctx, c)
	if err != nil {
		return err
	}
	if info == nil {
		if err := c.Federation(ctx, "create", req, &node.FederationInfo{}); err != nil {
			return fmt.Errorf("federation form: create %s: %w", req.Name, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Founded federation %s.\n", req.Name)
	}
	for _, m := range want {
		if err := admitRequest(ctx, c, dir, m); err != nil {
			return fmt.Errorf("federation form: member %s: %w", m.name, err)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "%s is admitted (%s, %s).\n", m.name, m.operator, m.region)
	}
	return nil
}

// admitRequest waits for m's peer ID and, unless that peer is a member
// already, admits it and hands it its token.
func admitRequest(ctx context.Context, c *api.Client, dir string, m enrollMember) error {
	var peerID string
	err := poll(ctx, "its request "+filepath.Join(dir, m.name+".peer"), func() (bool, error) {
		data, err := os.ReadFile(filepath.Join(dir, m.name+".peer"))
		peerID = strings.TrimSpace(string(data))
		return err == nil && peerID != "", nil
	})
	if err != nil {
		return err
	}
	members, err := c.Members(ctx)
	if err != nil {
		return err
	}
	for _, mi := range members {
		if mi.PeerID == peerID {
			return nil
		}
	}
	var ans api.TokenAnswer
	if err := c.Federation(ctx, "admit", api.FederationRequest{PeerID: peerID, Operator: m.operator, Region: m.region}, &ans); err != nil {
		return fmt.Errorf("admit %s: %w", peerID, err)
	}
	data, _ := json.Marshal(enrollToken{PeerID: peerID, Token: ans.Token})
	if err := atomicfile.Write(filepath.Join(dir, m.name+".token"), data, 0o600); err != nil {
		return fmt.Errorf("hand over the join token: %w", err)
	}
	return nil
}

func newFedRequestCommand(g *globals) *cobra.Command {
	var (
		dir, name string
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "request --dir DIR --name NAME",
		Short: "Ask the founder running `cairn federation form` through DIR to admit this node, and join",
		Long: `Waits for this node's daemon and, unless it belongs to a federation already,
writes its peer ID to DIR/NAME.peer, waits for the founder's join token for
that peer ID in DIR/NAME.token, and joins with it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !enrollName.MatchString(name) {
				return fmt.Errorf("--name %q: use lowercase letters, digits, - and _", name)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return requestAdmission(ctx, g, cmd, dir, name)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory shared with the founder (required)")
	cmd.Flags().StringVar(&name, "name", "", "this node's name in the founder's --member list (required)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("name")
	return cmd
}

func requestAdmission(ctx context.Context, g *globals, cmd *cobra.Command, dir, name string) error {
	c, err := waitForDaemon(ctx, g)
	if err != nil {
		return err
	}
	if info, err := showFederation(ctx, c); err != nil || info != nil {
		if info != nil {
			fmt.Fprintf(cmd.OutOrStdout(), "Already a member of %s.\n", info.Name)
		}
		return err
	}
	id, err := c.ID(ctx)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, name+".peer"), []byte(id.PeerID+"\n"), 0o644); err != nil {
		return fmt.Errorf("federation request: %w", err)
	}
	var tok enrollToken
	err = poll(ctx, "the founder's token in "+filepath.Join(dir, name+".token"), func() (bool, error) {
		data, err := os.ReadFile(filepath.Join(dir, name+".token"))
		return err == nil && json.Unmarshal(data, &tok) == nil && tok.PeerID == id.PeerID, nil
	})
	if err != nil {
		return fmt.Errorf("federation request: %w", err)
	}
	var info node.FederationInfo
	if err := c.Federation(ctx, "join", api.FederationRequest{Token: tok.Token}, &info); err != nil {
		return fmt.Errorf("federation request: join: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Joined %s as %s.\n", info.Name, name)
	return nil
}

// waitForDaemon waits until the repository exists and its daemon answers.
func waitForDaemon(ctx context.Context, g *globals) (*api.Client, error) {
	var c *api.Client
	var last error
	err := poll(ctx, "the daemon", func() (bool, error) {
		if c, last = g.client(); last != nil {
			return false, nil
		}
		_, last = c.ID(ctx)
		return last == nil, nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w (last: %v)", err, last)
	}
	return c, nil
}

// showFederation returns the node's federation, or nil if it has none.
func showFederation(ctx context.Context, c *api.Client) (*node.FederationInfo, error) {
	info, err := c.FederationShow(ctx)
	var se *api.StatusError
	if errors.As(err, &se) && se.Code == http.StatusConflict {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// poll calls done every 200 ms until it reports true or fails, or ctx ends.
func poll(ctx context.Context, what string, done func() (bool, error)) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := done()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited for %s: %w", what, ctx.Err())
		case <-tick.C:
		}
	}
}
