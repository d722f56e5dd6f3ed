package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/cairn-fed/cairn/internal/mirror"
	"github.com/cairn-fed/cairn/internal/mirror/runner"
)

// S3Config says where an S3 target is and how to reach it.
type S3Config struct {
	Bucket, Prefix string
	// Endpoint is the server's URL (http:// or https://).
	Endpoint string
	Region   string
	// AccessKey, SecretKey and SessionToken are the credentials; empty
	// AccessKey reads ~/.aws/credentials (AWS_PROFILE) instead.
	AccessKey, SecretKey, SessionToken string
	// Timeout bounds connecting and waiting for each answer's headers.
	// Default 60 s: an S3 server answers well within it, and a server
	// that hangs is reported instead of waited for.
	Timeout time.Duration
	// Retries is how many times the client tries a failed request.
	// Default 3: a blip passes, a down server fails the pass quickly (the
	// mirror's own retry in --follow takes it from there).
	Retries int
	// PartSize is the part size of multipart uploads, and objects up to
	// it are sent in one PUT. Default 16 MiB: objects up to 160 GB
	// (10,000 parts), with 32 MiB of buffers per put.
	PartSize int64
}

// S3ConfigFromEnv reads a target URL (s3://BUCKET/PREFIX) and the rest the
// way the AWS SDKs do: AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (else
// AWS's own endpoint for the region); AWS_REGION, else AWS_DEFAULT_REGION,
// else us-east-1; AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN. endpoint, when not empty, overrides the endpoint.
func S3ConfigFromEnv(target, endpoint string, getenv func(string) string) (S3Config, error) {
	rest, ok := strings.CutPrefix(target, "s3://")
	bucket, prefix, _ := strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return S3Config{}, fmt.Errorf("%q is not s3://BUCKET or s3://BUCKET/PREFIX", target)
	}
	c := S3Config{Bucket: bucket, Prefix: strings.Trim(prefix, "/"), Endpoint: endpoint}
	c.Region = firstOf(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), "us-east-1")
	if c.Endpoint == "" {
		c.Endpoint = firstOf(getenv("AWS_ENDPOINT_URL_S3"), getenv("AWS_ENDPOINT_URL"), "https://s3."+c.Region+".amazonaws.com")
	}
	c.AccessKey, c.SecretKey, c.SessionToken = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"), getenv("AWS_SESSION_TOKEN")
	return c, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// S3 is a bucket prefix as a target: each object is one S3 object, put
// whole (a single PUT, or a multipart upload that becomes visible only
// when it completes), so the key holds all of it or nothing.
type S3 struct {
	c   *minio.Client
	cfg S3Config
}

// NewS3 makes a client for the target; it does not contact the server.
func NewS3(cfg S3Config) (*S3, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("S3 endpoint %q is not an http:// or https:// URL", cfg.Endpoint)
	}
	cfg.Timeout = cmpOr(cfg.Timeout, 60*time.Second)
	cfg.Retries = cmpOr(cfg.Retries, 3)
	cfg.PartSize = cmpOr(cfg.PartSize, 16<<20)
	creds := credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken)
	if cfg.AccessKey == "" {
		creds = credentials.NewFileAWSCredentials("", "")
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds: creds, Secure: u.Scheme == "https", Region: cfg.Region,
		Transport: transport(cfg.Timeout), MaxRetries: cfg.Retries,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", cfg.Endpoint, err)
	}
	return &S3{c: c, cfg: cfg}, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func transport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = timeout
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = 16
	return t
}

func (s *S3) String() string {
	return "s3://" + strings.TrimSuffix(s.cfg.Bucket+"/"+s.cfg.Prefix, "/")
}

func (s *S3) name(key string) string {
	if s.cfg.Prefix == "" {
		return key
	}
	return s.cfg.Prefix + "/" + key
}

// Put uploads the object: in one PUT when it fits in a part, else as a
// multipart upload of the stream.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	first := make([]byte, s.cfg.PartSize)
	n, err := io.ReadFull(r, first)
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: uint64(s.cfg.PartSize), DisableContentSha256: true}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		_, err = s.c.PutObject(ctx, s.cfg.Bucket, s.name(key), bytes.NewReader(first[:n]), int64(n), opts)
		return int64(n), s.explain(err)
	case err != nil:
		return int64(n), err
	}
	info, err := s.c.PutObject(ctx, s.cfg.Bucket, s.name(key), io.MultiReader(bytes.NewReader(first), r), -1, opts)
	return info.Size, s.explain(err)
}

// explain adds what to check to the client's errors.
func (s *S3) explain(err error) error {
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	switch {
	case errors.As(err, &resp) && resp.Code == "NoSuchBucket":
		return fmt.Errorf("%w (create the bucket %s first)", err, s.cfg.Bucket)
	case errors.As(err, &resp) && (resp.Code == "AccessDenied" || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch"):
		return fmt.Errorf("%w (check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", err)
	case errors.As(err, &resp):
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the S3 server at %s did not answer within %s: %w", s.cfg.Endpoint, s.cfg.Timeout, err)
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return fmt.Errorf("cannot reach the S3 server at %s: %w", s.cfg.Endpoint, err)
	}
	return err
}

// Remove deletes the object; S3 answers a missing key with success.
func (s *S3) Remove(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	return s.explain(s.c.RemoveObject(ctx, s.cfg.Bucket, s.name(key), minio.RemoveObjectOptions{}))
}

// Keys lists the objects directly under the prefix.
func (s *S3) Keys(ctx context.Context) ([]string, error) {
	prefix := s.name("")
	var keys []string
	for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if o.Err != nil {
			return nil, s.explain(o.Err)
		}
		if k := strings.TrimPrefix(o.Key, prefix); k != "" && !strings.Contains(k, "/") {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Clean aborts the incomplete multipart uploads a killed put left under
// the prefix (they hold storage, and are billed, until aborted), of
// object keys only: an upload of another tool's in the same bucket is
// left alone. A server that does not list uploads has none to abort.
func (s *S3) Clean(ctx context.Context) error {
	prefix := s.name("")
	for u := range s.c.ListIncompleteUploads(ctx, s.cfg.Bucket, prefix, false) {
		var resp minio.ErrorResponse
		switch {
		case errors.As(u.Err, &resp) && resp.Code == "NotImplemented":
			return nil
		case u.Err != nil:
			return s.explain(u.Err)
		case !isObjectKey(strings.TrimPrefix(u.Key, prefix)):
			continue
		}
		if err := s.c.RemoveIncompleteUpload(ctx, s.cfg.Bucket, u.Key); err != nil {
			return fmt.Errorf("abort the unfinished upload of %s: %w", u.Key, s.explain(err))
		}
	}
	return nil
}

// ReadState reads the state object.
func (s *S3) ReadState(ctx context.Context) ([]byte, error) {
	obj, err := s.c.GetObject(ctx, s.cfg.Bucket, s.name(mirror.StateKey), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.explain(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(io.LimitReader(obj, 1<<30))
	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code == "NoSuchKey" {
		return nil, fmt.Errorf("%w: %w", runner.ErrNoState, err)
	}
	return b, s.explain(err)
}

// WriteState puts the state object (an S3 PUT replaces it whole).
func (s *S3) WriteState(ctx context.Context, b []byte) error {
	_, err := s.c.PutObject(ctx, s.cfg.Bucket, s.name(mirror.StateKey), bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json"})
	return s.explain(err)
}
