package pins

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ipfs/go-datastore"
)

// Tokens: each user has bearer tokens of its own, printed once when made;
// the service keeps only their SHA-256, so its datastore gives none away.

var tokenPrefix = datastore.NewKey("/tokens")

// Token is a user's bearer token, as stored: its hash only.
type Token struct {
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

// CreateToken makes a new bearer token for user; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, user string) (string, error) {
	user = strings.TrimSpace(user)
	if user == "" || len(user) > 64 {
		return "", fmt.Errorf("%w: a token needs a user name of 1 to 64 characters", ErrBadRequest)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := "cairn-pins-" + hex.EncodeToString(raw[:])
	t := Token{User: user, Created: s.now().UTC()}
	data, _ := json.Marshal(t)
	hash := tokenHash(token)
	if err := s.ds.Put(ctx, tokenPrefix.ChildString(hash), data); err != nil {
		return "", fmt.Errorf("record the token: %w", err)
	}
	if err := s.ds.Sync(ctx, tokenPrefix); err != nil {
		return "", fmt.Errorf("record the token: %w", err)
	}
	s.mu.Lock()
	s.tokens[hash] = t
	s.mu.Unlock()
	return token, nil
}

// RevokeTokens removes every token of user and reports how many.
func (s *Service) RevokeTokens(ctx context.Context, user string) (int, error) {
	s.mu.Lock()
	var hashes []string
	for h, t := range s.tokens {
		if t.User == user {
			hashes = append(hashes, h)
		}
	}
	s.mu.Unlock()
	for _, h := range hashes {
		if err := s.ds.Delete(ctx, tokenPrefix.ChildString(h)); err != nil {
			return 0, fmt.Errorf("revoke a token of %s: %w", user, err)
		}
		s.mu.Lock()
		delete(s.tokens, h)
		s.mu.Unlock()
	}
	return len(hashes), nil
}

// Users lists the users with a token and how many tokens each has.
func (s *Service) Users() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for _, t := range s.tokens {
		out[t.User]++
	}
	return out
}

// user returns the user a bearer token belongs to.
func (s *Service) user(token string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keyed by the token's hash: a lookup reveals nothing of the token.
	if t, ok := s.tokens[tokenHash(token)]; ok {
		return t.User, nil
	}
	return "", ErrUnauthorized
}

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
