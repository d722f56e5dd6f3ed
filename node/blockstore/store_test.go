package blockstore

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
	"github.com/multiformats/go-multihash"

	"github.com/cairn-fed/cairn/internal/logbuf"
)

func openTestStore(t testing.TB, dir string) *Store {
	t.Helper()
	return openWithConfig(t, dir, DefaultConfig())
}

func openWithConfig(t testing.TB, dir string, cfg Config) *Store {
	t.Helper()
	s, err := Open(dir, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// tempFilesIn lists temporary files anywhere under dir.
func tempFilesIn(t *testing.T, dir string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			found = append(found, path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return found
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name      string
		change    func(*Config)
		wantField string
	}{
		{"default is valid", func(*Config) {}, ""},
		{"no sync workers", func(c *Config) { c.SyncWorkers = 0 }, "sync_workers"},
		{"too many sync workers", func(c *Config) { c.SyncWorkers = 1000 }, "sync_workers"},
		{"negative queue", func(c *Config) { c.MaxQueuedBlocks = -1 }, "max_queued_blocks"},
		{"tiny max block", func(c *Config) { c.MaxBlockSize = 10 }, "max_block_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.change(&cfg)
			err := cfg.Validate()
			switch {
			case tt.wantField == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.wantField != "" && (err == nil || !strings.Contains(err.Error(), tt.wantField)):
				t.Errorf("Validate() = %v; want an error naming %s", err, tt.wantField)
			}
		})
	}
	if _, err := Open(t.TempDir(), Config{}, nil); err == nil {
		t.Error("Open with zero Config succeeded; want a validation error")
	}
}

func TestLayout(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	s := openTestStore(t, dir)
	b := randomBlock(t, 100, 1)
	mustPut(t, ctx, s, b)

	key := keyEncoding.EncodeToString(b.Cid().Hash())
	if key != strings.ToLower(key) || strings.Contains(key, "=") {
		t.Fatalf("key %q is not lowercase unpadded base32", key)
	}
	want := filepath.Join(dir, key[len(key)-3:len(key)-1], key+".blk")
	if _, err := os.Stat(want); err != nil {
		t.Errorf("block file: %v; want it at %s", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, versionName)); err != nil {
		t.Errorf("version file: %v", err)
	}
}

func TestShardsSpreadEvenly(t *testing.T) {
	const n = 4096
	counts := make(map[string]int)
	for i := range n {
		data := []byte{byte(i), byte(i >> 8)}
		h, _ := multihash.Sum(data, multihash.SHA2_256, -1)
		counts[shardOf(keyOf(h))]++
	}
	// 4096 keys thrown into 1024 shards fill about 1005 of them.
	if got := len(counts); got < 950 {
		t.Errorf("%d sha2-256 keys used %d shards; want at least 950 of 1024", n, got)
	}
	for shard, count := range counts {
		if count > 20 {
			t.Errorf("shard %s holds %d of %d keys; want about 4", shard, count, n)
		}
	}
}

func TestCorruptBlockIsQuarantined(t *testing.T) {
	tests := []struct {
		name   string
		damage func([]byte) []byte
	}{
		{"flipped byte", func(d []byte) []byte { d[len(d)/2] ^= 0x40; return d }},
		{"truncated", func(d []byte) []byte { return d[:len(d)-1] }},
		{"emptied", func([]byte) []byte { return nil }},
		{"grown", func(d []byte) []byte { return append(d, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testContext(t)
			dir := t.TempDir()
			logs := &logbuf.Buffer{}
			s, err := Open(dir, DefaultConfig(), slog.New(slog.NewTextHandler(logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			b := randomBlock(t, 2000, 9)
			mustPut(t, ctx, s, b)
			path := s.blockPath(keyOf(b.Cid().Hash()))
			data, _ := os.ReadFile(path)
			damaged := tt.damage(slices.Clone(data))
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			got, err := s.Get(ctx, b.Cid())
			if !errors.Is(err, ErrCorruptBlock) || got != nil {
				t.Fatalf("Get(corrupt) = %v, %v; want nil, ErrCorruptBlock", got, err)
			}
			if !strings.Contains(err.Error(), b.Cid().String()) {
				t.Errorf("error %q does not name the cid", err)
			}
			if has, _ := s.Has(ctx, b.Cid()); has {
				t.Error("Has(corrupt) = true after Get; want false")
			}
			if _, err := s.Get(ctx, b.Cid()); !ipld.IsNotFound(err) {
				t.Errorf("second Get = %v; want not found", err)
			}
			if n := strings.Count(logs.String(), "corrupt block"); n != 1 {
				t.Errorf("logged corruption %d times; want once:\n%s", n, logs)
			}
			quarantined, _ := os.ReadDir(filepath.Join(dir, quarantineDir))
			if len(quarantined) != 1 {
				t.Errorf("quarantine holds %d files; want 1", len(quarantined))
			}
			mustPut(t, ctx, s, b) // fetched again from a peer
			assertStored(t, ctx, s, b)
			if len(damaged) == len(data) {
				// A file resized behind the store's back skews the byte count
				// until the next Open (see Store.Usage).
				assertUsageMatchesFiles(t, s)
			}
		})
	}
}

func TestConcurrentReadersOfCorruptBlockLogOnce(t *testing.T) {
	ctx := testContext(t)
	logs := &logbuf.Buffer{}
	s, err := Open(t.TempDir(), DefaultConfig(), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b := randomBlock(t, 64<<10, 10)
	mustPut(t, ctx, s, b)
	path := s.blockPath(keyOf(b.Cid().Hash()))
	if err := os.WriteFile(path, make([]byte, 64<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if blk, err := s.Get(ctx, b.Cid()); blk != nil {
				t.Errorf("Get returned corrupt bytes (err %v)", err)
			}
		})
	}
	wg.Wait()
	if n := strings.Count(logs.String(), "corrupt block"); n != 1 {
		t.Errorf("logged corruption %d times; want once:\n%s", n, logs)
	}
}

func TestOpenRemovesTempFiles(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	s := openTestStore(t, dir)
	b := randomBlock(t, 1000, 11)
	mustPut(t, ctx, s, b)
	shard := filepath.Dir(s.blockPath(keyOf(b.Cid().Hash())))
	leftovers := []string{
		filepath.Join(shard, tempPrefix+"123"),
		filepath.Join(dir, tempPrefix+"456"),
		filepath.Join(dir, "zz", tempPrefix+"789"),
	}
	_ = os.Mkdir(filepath.Join(dir, "zz"), 0o700)
	for _, p := range leftovers {
		if err := os.WriteFile(p, []byte("half a blo"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	s = openTestStore(t, dir)
	if got := tempFilesIn(t, dir); len(got) != 0 {
		t.Errorf("after Open, temporary files remain: %v", got)
	}
	assertStored(t, ctx, s, b)
	if got := len(allMultihashes(t, ctx, s)); got != 1 {
		t.Errorf("AllKeysChan lists %d blocks; want 1", got)
	}
}

func TestOpenRefusesWhatIsNotThisStore(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr error
	}{
		{"newer version", map[string]string{versionName: "cairn-blockstore/2\n"}, ErrUnknownVersion},
		{"garbage version file", map[string]string{versionName: "flatfs"}, ErrNotStore},
		{"other files, no version", map[string]string{"photo.jpg": "x"}, ErrNotStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Open(dir, DefaultConfig(), nil)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Open = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	s := openTestStore(t, dir)
	var all []blocks.Block
	for i := range 10 {
		b := randomBlock(t, 5000, uint64(400+i))
		mustPut(t, ctx, s, b)
		all = append(all, b)
	}
	var many []blocks.Block
	for i := range 10 {
		many = append(many, randomBlock(t, 5000, uint64(500+i)))
	}
	if err := s.PutMany(ctx, many); err != nil {
		t.Fatal(err)
	}
	all = append(all, many...)
	batch := s.NewBatch()
	for i := range 10 {
		b := randomBlock(t, 5000, uint64(600+i))
		if err := batch.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		all = append(all, b)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, dir)
	for _, b := range all {
		assertStored(t, ctx, s, b)
	}
	if got := len(allMultihashes(t, ctx, s)); got != len(all) {
		t.Errorf("after reopen AllKeysChan lists %d blocks; want %d", got, len(all))
	}
}

func TestAllKeysSkipsWhatIsNotABlock(t *testing.T) {
	ctx := testContext(t)
	dir := t.TempDir()
	s := openTestStore(t, dir)
	b := randomBlock(t, 100, 12)
	mustPut(t, ctx, s, b)
	key := keyOf(b.Cid().Hash())
	shard := filepath.Join(dir, shardOf(key))
	for _, name := range []string{tempPrefix + "1", "notbase32!.blk", key + ".txt", "aaaa.blk"} {
		if err := os.WriteFile(filepath.Join(shard, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A valid block name in the wrong shard cannot be found by Get.
	other := keyOf(randomBlock(t, 100, 14).Cid().Hash())
	if shardOf(other) == shardOf(key) {
		t.Fatal("test blocks share a shard; pick another seed")
	}
	if err := os.WriteFile(filepath.Join(shard, other+blockSuffix), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ch, done, err := s.AllKeysChanWithErr(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []cid.Cid
	for c := range ch {
		got = append(got, c)
	}
	if err := done(); err != nil {
		t.Errorf("AllKeysChanWithErr reported %v; want nil", err)
	}
	if len(got) != 1 || string(got[0].Hash()) != string(b.Cid().Hash()) {
		t.Errorf("AllKeysChan = %v; want only %s", got, b.Cid())
	}
}

func TestPutRefusesWhatItCannotServe(t *testing.T) {
	ctx := testContext(t)
	cfg := DefaultConfig()
	cfg.MaxBlockSize = 4096
	s := openWithConfig(t, t.TempDir(), cfg)
	unknownHash, _ := multihash.Encode(make([]byte, 32), 0x7777)
	c := cid.NewCidV1(cid.Raw, unknownHash)
	odd, _ := blocks.NewBlockWithCid([]byte("x"), c)
	tests := []struct {
		name string
		b    blocks.Block
		want string
	}{
		{"too large", randomBlock(t, 4097, 13), "larger than"},
		{"unknown hash function", odd, "cannot verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Put(ctx, tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Put = %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := testContext(t)
	s := openTestStore(t, t.TempDir())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			batch := s.NewBatch()
			for i := range 20 {
				b := randomBlock(t, 2000, uint64(i)) // same blocks in every worker
				if err := batch.Put(ctx, b); err != nil {
					t.Errorf("batch Put: %v", err)
				}
				if err := s.Put(ctx, randomBlock(t, 100, uint64(1000*w+i))); err != nil {
					t.Errorf("Put: %v", err)
				}
				if _, err := s.Get(ctx, b.Cid()); err != nil && !ipld.IsNotFound(err) {
					t.Errorf("Get: %v", err)
				}
			}
			if err := batch.Commit(ctx); err != nil {
				t.Errorf("Commit: %v", err)
			}
		})
	}
	wg.Wait()
	for i := range 20 {
		assertStored(t, ctx, s, randomBlock(t, 2000, uint64(i)))
	}
	if got := tempFilesIn(t, s.Dir()); len(got) != 0 {
		t.Errorf("temporary files remain: %v", got)
	}
	assertUsageMatchesFiles(t, s)
}
