package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-fed/cairn/internal/s3test"
)

// BenchmarkMirrorS3 mirrors 128 MiB (four 32 MiB objects) from a daemon
// to a real S3 server on loopback with `cairn mirror`, and in the same
// run uploads the same bytes (the objects' CAR bundles, from files)
// straight to the server with the same client library, minio-go, at its
// defaults for a file of known size. It reports both rates and the
// mirror's as a percentage of the direct upload's (target: at least 80).
func BenchmarkMirrorS3(b *testing.B) {
	srv := s3test.Start(b)
	a := initRepo(b, "a")
	startDaemon(b, a)
	const objects, size = 4, 32 << 20
	src, cars := b.TempDir(), b.TempDir()
	var total int64
	var files []string
	for i := range objects {
		p := filepath.Join(src, fmt.Sprintf("obj%d.bin", i))
		if err := os.WriteFile(p, randomBytes(b, size), 0o644); err != nil {
			b.Fatal(err)
		}
		id := strings.TrimSpace(cairn(b, a, "add", "-q", p))
		car := filepath.Join(cars, id+".car")
		cairn(b, a, "export", id, "-o", car)
		fi, _ := os.Stat(car)
		total += fi.Size()
		files = append(files, car)
	}
	client, err := minio.New(strings.TrimPrefix(srv.Endpoint, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""), Region: srv.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		b.Fatal(err)
	}
	var mirrorTime, directTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		out, err := cairnResultEnv(b, a, srv.Env(), "mirror", "--to", fmt.Sprintf("s3://%s/run%d", s3test.Bucket, i))
		if err != nil {
			b.Fatalf("mirror: %v\n%s", err, out)
		}
		mirrorTime += time.Since(start)
		start = time.Now()
		for _, f := range files {
			if _, err := client.FPutObject(context.Background(), s3test.Bucket, fmt.Sprintf("direct%d/%s", i, filepath.Base(f)), f, minio.PutObjectOptions{}); err != nil {
				b.Fatalf("direct upload: %v", err)
			}
		}
		directTime += time.Since(start)
	}
	b.StopTimer()
	mb := float64(total) * float64(b.N) / (1 << 20)
	mirrorRate, directRate := mb/mirrorTime.Seconds(), mb/directTime.Seconds()
	b.ReportMetric(mirrorRate, "mirror-MiB/s")
	b.ReportMetric(directRate, "direct-MiB/s")
	b.ReportMetric(100*mirrorRate/directRate, "mirror-%-of-direct")
}

// randomBytes returns n bytes that do not compress.
func randomBytes(b *testing.B, n int) []byte {
	buf := make([]byte, n)
	x := uint64(0x9e3779b97f4a7c15)
	for i := range buf {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		buf[i] = byte(x)
	}
	return buf
}

// cairnResultEnv is cairnResult with extra environment.
func cairnResultEnv(t testing.TB, repo string, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := cairnCmd(ctx, repo, args...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
