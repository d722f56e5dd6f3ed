package target

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
	"github.com/cairn-fed/cairn/internal/s3test"
)

// failingReader yields some bytes, then fails: a daemon stream cut off.
type failingReader struct{ left int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, errors.New("stream broke off")
	}
	n := min(len(p), f.left)
	for i := range p[:n] {
		p[i] = 'x'
	}
	f.left -= n
	return n, nil
}

// testTarget is the suite every target passes: puts replace whole, a put
// whose source fails leaves nothing (not even a half object), removes are
// idempotent, the state round-trips, keys list what is there, and a key
// that is a path or a hidden name is refused.
func testTarget(t *testing.T, tg runner.Target, big int) {
	ctx := context.Background()
	if _, err := tg.ReadState(ctx); !errors.Is(err, runner.ErrNoState) {
		t.Fatalf("ReadState of an empty target: %v, want ErrNoState", err)
	}
	for _, bad := range []string{"", "../a.car", "x/a.car", `x\a.car`, "..", "a..car", ".hidden", ".cairn-mirror.lock"} {
		if _, err := tg.Put(ctx, bad, strings.NewReader("x")); !errors.Is(err, ErrBadKey) {
			t.Errorf("Put(%q) = %v, want ErrBadKey", bad, err)
		}
		if err := tg.Remove(ctx, bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("Remove(%q) = %v, want ErrBadKey", bad, err)
		}
	}
	small, large := []byte("a small object"), bytes.Repeat([]byte("0123456789abcdef"), big/16)
	for key, body := range map[string][]byte{"a.car": small, "b.car": large} {
		for range 2 { // a put repeated after a crash overwrites the same bytes
			if n, err := tg.Put(ctx, key, bytes.NewReader(body)); err != nil || n != int64(len(body)) {
				t.Fatalf("Put %s: %d, %v; want %d bytes", key, n, err, len(body))
			}
		}
	}
	if _, err := tg.Put(ctx, "c.car", &failingReader{left: big + 100}); err == nil {
		t.Fatal("a put whose source failed succeeded")
	}
	if _, err := tg.Put(ctx, "a.car", &failingReader{left: 3}); err == nil {
		t.Fatal("a put whose source failed succeeded")
	}
	if err := tg.WriteState(ctx, []byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := tg.WriteState(ctx, []byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	if b, err := tg.ReadState(ctx); err != nil || string(b) != `{"v":2}` {
		t.Fatalf("ReadState = %q, %v", b, err)
	}
	keys, err := tg.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	if want := []string{mirror.StateKey, "a.car", "b.car"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v (a failed put must leave nothing)", keys, want)
	}
	for range 2 {
		if err := tg.Remove(ctx, "a.car"); err != nil {
			t.Fatalf("Remove: %v", err)
		}
	}
	if keys, _ := tg.Keys(ctx); slices.Contains(keys, "a.car") {
		t.Fatal("a.car still listed after Remove")
	}
}

func TestMemoryTarget(t *testing.T) { testTarget(t, NewMemory(), 1<<20) }

func TestDirTarget(t *testing.T) {
	d, err := NewDir(filepath.Join(t.TempDir(), "mirror"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	testTarget(t, d, 1<<20)
	entries, _ := os.ReadDir(d.path)
	for _, e := range entries {
		if strings.Contains(e.Name(), tempMark) {
			t.Fatalf("temporary file %s left behind", e.Name())
		}
	}
}

// objKey is a key of an object in the CAR format, with a valid CID.
const objKey = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e.car"

// TestDirTargetLeftoversAndFullDisk: the temporary files a killed put or
// state write left are removed by Clean, and no other file is; a full
// disk is a clear error that leaves no file behind.
func TestDirTargetLeftoversAndFullDisk(t *testing.T) {
	dir := t.TempDir()
	left := []string{"." + objKey + tempMark + "123", "." + mirror.StateKey + tempMark + "9"}
	mine := []string{".x.car" + tempMark + "123", ".notes" + tempMark + "1", "x.car" + tempMark + "2"}
	for _, f := range append(left, mine...) {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("half"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Clean(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range left {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("leftover temporary file %s still there: %v", f, err)
		}
	}
	for _, f := range mine {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("Clean removed %s, not a temporary file of the mirror's: %v", f, err)
		}
		os.Remove(filepath.Join(dir, f))
	}
	d.wrap = func(w io.Writer) io.Writer { return &fullDisk{w: w, room: 1000} }
	_, err = d.Put(context.Background(), "y.car", bytes.NewReader(make([]byte, 5000)))
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "target directory is full") {
		t.Fatalf("put to a full disk: %v", err)
	}
	if keys, _ := d.Keys(context.Background()); len(keys) != 0 {
		t.Fatalf("a failed put left %v", keys)
	}
}

// TestDirTargetIsPrivate: the directories the target creates are 0700
// and the objects and the state it writes 0600, whatever the umask
// allows: with --decrypt they are plaintext.
func TestDirTargetIsPrivate(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "mirror")
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	if _, err := d.Put(ctx, objKey, strings.NewReader("plaintext")); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteState(ctx, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(root, "a"): 0o700, dir: 0o700,
		filepath.Join(dir, objKey): 0o600, filepath.Join(dir, mirror.StateKey): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", path, got, want)
		}
	}
}

// TestDirTargetLock: a second target on the same directory is refused,
// saying what to do, until the first is closed; the lock leaves no file
// in the directory.
func TestDirTargetLock(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop that mirror") {
		t.Fatalf("a second target on a locked directory: %v, want ErrLocked", err)
	}
	if keys, err := d.Keys(context.Background()); err != nil || len(keys) != 0 {
		t.Fatalf("a locked empty directory lists %v, %v", keys, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("the lock left %d entries in the directory", len(entries))
	}
	d.Close()
	d2, err := NewDir(dir)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	d2.Close()
}

// fullDisk fails writes past room bytes with ENOSPC, as a full disk does.
type fullDisk struct {
	w    io.Writer
	room int
}

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) > f.room {
		n, _ := f.w.Write(p[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: "f", Err: syscall.ENOSPC}
	}
	f.room -= len(p)
	return f.w.Write(p)
}

func s3Target(t *testing.T, srv *s3test.Server, prefix string, tune func(*S3Config)) *S3 {
	t.Helper()
	env := map[string]string{}
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := S3ConfigFromEnv("s3://"+s3test.Bucket+"/"+prefix, "", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.PartSize = 5 << 20 // the S3 minimum, so a test object of 12 MiB is a multipart upload
	if tune != nil {
		tune(&cfg)
	}
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestS3Target runs the suite against a real S3 server, with objects
// that take one PUT and a multipart upload, under a prefix and without.
func TestS3Target(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("prefix", func(t *testing.T) { testTarget(t, s3Target(t, srv, "backups/laptop", nil), 12<<20) })
	t.Run("bucket", func(t *testing.T) { testTarget(t, s3Target(t, srv, "", nil), 1<<10) })
}

// TestS3Faults: a server that refuses connections, one that accepts and
// never answers, and one that stops in the middle of a multipart upload
// each give a clear error, and leave no object behind.
func TestS3Faults(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	fast := func(c *S3Config) { c.Timeout, c.Retries = 2*time.Second, 1 }

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hang := l.Addr().String()
	go func() { // accept and say nothing
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() { l.Close() })
	_, err = s3Target(t, srv, "", func(c *S3Config) { fast(c); c.Endpoint = "http://" + hang }).Put(ctx, "a.car", strings.NewReader("x"))
	if err == nil || !strings.Contains(err.Error(), "did not answer within 2s") {
		t.Fatalf("put to a server that never answers: %v", err)
	}

	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	refusing := l2.Addr().String()
	l2.Close()
	_, err = s3Target(t, srv, "", func(c *S3Config) { fast(c); c.Endpoint = "http://" + refusing }).Put(ctx, "a.car", strings.NewReader("x"))
	if err == nil || !strings.Contains(err.Error(), "cannot reach the S3 server") {
		t.Fatalf("put to a server that refuses: %v", err)
	}

	_, err = s3Target(t, srv, "", func(c *S3Config) { fast(c); c.SecretKey = "wrong" }).Put(ctx, "a.car", strings.NewReader("x"))
	if err == nil || !strings.Contains(err.Error(), "AWS_SECRET_ACCESS_KEY") {
		t.Fatalf("put with a wrong secret: %v", err)
	}

	// The server stops after the first part of a multipart upload arrived.
	tg := s3Target(t, srv, "", fast)
	pr, pw := io.Pipe()
	go func() {
		pw.Write(make([]byte, 6<<20)) // past the first part: the upload has begun
		srv.Stop()
		pw.Write(make([]byte, 6<<20))
		pw.Close()
	}()
	if _, err := tg.Put(ctx, "mid.car", pr); err == nil {
		t.Fatal("a put during which the server stopped succeeded")
	}
	srv.Restart()
	if keys, err := tg.Keys(ctx); err != nil || slices.Contains(keys, "mid.car") {
		t.Fatalf("after a put cut off midway: keys %v, %v", keys, err)
	}
	if _, ok := srv.Object("mid.car"); ok {
		t.Fatal("the server holds half of mid.car")
	}
}

// TestS3Clean: Clean aborts the incomplete multipart uploads a killed
// put left under the prefix, and leaves another tool's (a key that is not
// an object's, or outside the prefix) alone.
func TestS3Clean(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	tg := s3Target(t, srv, "laptop", nil)
	core := minio.Core{Client: tg.c}
	for _, key := range []string{"laptop/" + objKey, "laptop/other.bin", objKey} {
		id, err := core.NewMultipartUpload(ctx, s3test.Bucket, key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.PutObjectPart(ctx, s3test.Bucket, key, id, 1, bytes.NewReader(make([]byte, 5<<20)), 5<<20, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tg.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	var left []string
	for u := range tg.c.ListIncompleteUploads(ctx, s3test.Bucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		left = append(left, u.Key)
	}
	slices.Sort(left)
	if want := []string{objKey, "laptop/other.bin"}; !slices.Equal(left, want) {
		t.Fatalf("uploads left after Clean: %v, want %v", left, want)
	}
}

func TestS3ConfigFromEnv(t *testing.T) {
	env := map[string]string{"AWS_ENDPOINT_URL": "http://a", "AWS_ENDPOINT_URL_S3": "http://s3", "AWS_REGION": "eu-west-3", "AWS_ACCESS_KEY_ID": "k"}
	c, err := S3ConfigFromEnv("s3://bkt/some/prefix/", "", func(k string) string { return env[k] })
	if err != nil || c.Bucket != "bkt" || c.Prefix != "some/prefix" || c.Endpoint != "http://s3" || c.Region != "eu-west-3" || c.AccessKey != "k" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if c, _ := S3ConfigFromEnv("s3://bkt", "http://flag", func(string) string { return "" }); c.Endpoint != "http://flag" || c.Region != "us-east-1" {
		t.Fatalf("flag endpoint, default region: %+v", c)
	}
	for _, bad := range []string{"s3://", "bkt/x", "file:///x"} {
		if _, err := S3ConfigFromEnv(bad, "", func(string) string { return "" }); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := NewS3(S3Config{Endpoint: "ftp://x"}); err == nil {
		t.Error("an ftp endpoint was accepted")
	}
}
