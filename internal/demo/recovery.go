package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/cairn-fed/cairn/internal/keys"
	"github.com/cairn-fed/cairn/internal/object"
	"github.com/cairn-fed/cairn/internal/paperkey"
	"github.com/cairn-fed/cairn/node"
)

// loseTheMachine is the tour's last step: a member's owner adds a few
// files, writes down the paper key, and loses the machine; a fresh node,
// admitted to the federation, recovers everything from the paper key.
func (t *tour) loseTheMachine(ctx context.Context) error {
	founder := t.members[0]
	victim := t.spareMember()
	if victim == nil {
		t.say("   (No member besides %s is running to lose its machine; run the demo with at least 4 nodes.)", founder.name)
		return nil
	}
	t.heading(fmt.Sprintf("%s's owner adds two files and writes down the paper key", victim.name))
	files := map[string][]byte{"minutes.txt": []byte("Minutes of the spring meeting\n"), "accounts.csv": randomBytes(200 << 10)}
	for name, body := range files {
		if _, err := victim.node.Add(ctx, object.NewReaderSource(name, bytes.NewReader(body)), node.AddOptions{Name: name}); err != nil {
			return fmt.Errorf("demo: add %s: %w", name, err)
		}
	}
	paper := paperkey.Encode(ownerOf(victim).Secret())
	t.say("   `cairn key export` prints the owner key as a paper key, the one thing to keep:\n   %s", paper)
	if err := t.waitCatalog(ctx, victim); err != nil {
		return err
	}
	t.say("   The node keeps an encrypted catalog of what its owner added in the federation, like any object.")

	t.heading(fmt.Sprintf("%s's machine burns down: the node and its whole repository are gone", victim.name))
	victim.node.Close()
	t.forget(victim)
	if err := os.RemoveAll(victim.repo.Dir); err != nil {
		return fmt.Errorf("demo: remove %s's repository: %w", victim.name, err)
	}
	fresh, err := t.startMember(victim.name+"-new", len(t.everyone))
	if err != nil {
		return err
	}
	fresh.operator, fresh.region = victim.operator, victim.region
	t.members = append(t.members, fresh)
	token, err := founder.node.FederationAdmit(ctx, fresh.node.ID().PeerID, fresh.operator, fresh.region)
	if err != nil {
		return fmt.Errorf("demo: admit %s: %w", fresh.name, err)
	}
	if _, err := fresh.node.FederationJoin(ctx, token); err != nil {
		return fmt.Errorf("demo: %s joins: %w", fresh.name, err)
	}
	t.say("   A fresh node, %s, is admitted by %s (cairn id, cairn federation admit, cairn federation join).", fresh.name, founder.name)

	secret, err := paperkey.Decode(paper)
	if err != nil {
		return fmt.Errorf("demo: read the paper key back: %w", err)
	}
	start := time.Now()
	report, err := fresh.node.Recover(ctx, keys.FromSecret(secret), node.RecoverOptions{})
	if err != nil {
		return fmt.Errorf("demo: recover: %w", err)
	}
	t.say("   `cairn recover --paper-key -` found catalog version %d on the members and restored %d objects in %s:",
		report.CatalogVersion, len(report.Restored), time.Since(start).Round(time.Millisecond))
	for _, o := range report.Restored {
		t.say("     - %s", o.Name)
	}
	return t.checkRecovered(ctx, fresh, files)
}

// spareMember is a running, admitted member other than the founder.
func (t *tour) spareMember() *member {
	for _, m := range t.members[1:] {
		if m.name != "mallory" {
			return m
		}
	}
	return nil
}

// ownerOf returns a member's owner key material.
func ownerOf(m *member) *keys.Owner {
	owner, _ := m.repo.Owner(nil) // the tour's repositories are not sealed
	return owner
}

// waitCatalog waits until a member's catalog holds every change.
func (t *tour) waitCatalog(ctx context.Context, m *member) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		info := m.node.Catalog()
		if info.Version > 0 && !info.Pending && t.keptElsewhere(ctx, m, info.Object) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("demo: waiting for %s's catalog: %w", m.name, ctx.Err())
		case <-tick.C:
		}
	}
}

// keptElsewhere reports whether a member other than m holds a verified
// copy of obj.
func (t *tour) keptElsewhere(ctx context.Context, m *member, obj string) bool {
	v, err := m.node.Status(ctx, obj)
	if err != nil {
		return false
	}
	for _, h := range v.Holders {
		if h.State == "verified" && h.PeerID != m.node.ID().PeerID {
			return true
		}
	}
	return false
}

// checkRecovered lists the fresh node's objects and reads each back.
func (t *tour) checkRecovered(ctx context.Context, m *member, files map[string][]byte) error {
	list, err := m.node.List(ctx)
	if err != nil {
		return err
	}
	restored := 0
	for _, o := range list {
		want, ok := files[o.Name]
		if !ok || o.Role != node.RoleOwner {
			continue
		}
		obj, err := m.node.Open(ctx, o.Capability)
		if err != nil {
			return fmt.Errorf("demo: open recovered %s: %w", o.Name, err)
		}
		var got bytes.Buffer
		if err := obj.WriteFile(ctx, o.Name, &got); err != nil || !bytes.Equal(got.Bytes(), want) {
			return fmt.Errorf("demo: recovered %s differs (%v)", o.Name, err)
		}
		restored++
	}
	if restored != len(files) {
		return fmt.Errorf("demo: %d of %d files recovered", restored, len(files))
	}
	t.say("   `cairn ls` on %s lists them with their names as before, each reads back identical, and", m.name)
	t.say("   %s's owner can delete or undelete them again: the paper key was all they needed.", m.name)
	return nil
}
