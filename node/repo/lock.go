package repo

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked means another daemon holds the repository.
var ErrLocked = errors.New("repo: in use by another cairn daemon")

// Lock is an exclusive hold on a repository, released by Close or by the
// process ending (the kernel drops flock locks of dead processes, so a
// killed daemon never leaves a stale lock behind).
type Lock struct {
	f *os.File
}

// Lock takes the repository's exclusive lock without waiting.
func (r *Repo) Lock() (*Lock, error) {
	f, err := os.OpenFile(r.Path(LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readPID(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (pid %s) for %s; stop that daemon first, or use another --repo", ErrLocked, holder, r.Dir)
		}
		return nil, fmt.Errorf("lock %s: %w", r.Path(LockFile), err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

func readPID(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	if pid := strings.TrimSpace(string(buf[:n])); pid != "" {
		return pid
	}
	return "unknown"
}

// Close releases the lock.
func (l *Lock) Close() error {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	return l.f.Close()
}
