package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// cluster is a federation of containers started from the compose file.
type cluster struct {
	t       *testing.T
	prefix  string   // container name prefix
	image   string   // the image under test
	compose []string // the compose command and its fixed arguments
	dir     string   // the build context
}

// requireDocker skips without Docker, except under CI, where it fails.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("these tests run each node in its own container and need Docker: %v", err)
		}
		t.Skipf("skipping: these tests run each node in its own container and need Docker (docker info: %v)", err)
	}
}

// composeCommand finds `docker compose` or the older `docker-compose`.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	t.Fatal("neither `docker compose` nor `docker-compose` is installed")
	return nil
}

func run(t *testing.T, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

func must(t *testing.T, stdin []byte, name string, args ...string) string {
	t.Helper()
	out, err := run(t, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// startCluster builds a static binary and a scratch image, and starts the
// compose file's three nodes under a unique project name.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	requireDocker(t)
	suffix := randomSuffix()
	c := &cluster{t: t, prefix: "cairntest-" + suffix, image: "cairn-test:" + suffix, compose: composeCommand(t), dir: t.TempDir()}
	c.buildImage()
	env := []string{"CAIRN_IMAGE=" + c.image, "CAIRN_PREFIX=" + c.prefix}
	args := append(c.compose[1:], "-p", c.prefix, "-f", "compose.yaml", "up", "-d")
	cmd := exec.Command(c.compose[0], args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		down := exec.Command(c.compose[0], append(c.compose[1:], "-p", c.prefix, "-f", "compose.yaml", "down", "-v", "-t", "2")...)
		down.Env = append(os.Environ(), env...)
		down.Run()
		exec.Command("docker", "image", "rm", "-f", c.image).Run()
	})
	for _, n := range []string{"node1", "node2", "node3"} {
		c.waitReady(n)
	}
	return c
}

func (c *cluster) buildImage() {
	c.t.Helper()
	bin := filepath.Join(c.dir, "cairn")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../cmd/cairn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		c.t.Fatalf("build a static cairn: %v\n%s", err, out)
	}
	dockerfile, err := os.ReadFile("Dockerfile")
	if err != nil {
		c.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(c.dir, "Dockerfile"), dockerfile, 0o644)
	must(c.t, nil, "docker", "build", "-q", "-t", c.image, c.dir)
}

func (c *cluster) name(node string) string { return c.prefix + "-" + node }

// cairn runs a cairn command inside a node's container.
func (c *cluster) cairn(node string, stdin []byte, args ...string) (string, error) {
	c.t.Helper()
	full := append([]string{"exec"}, func() []string {
		if stdin != nil {
			return []string{"-i"}
		}
		return nil
	}()...)
	full = append(full, c.name(node), "/cairn", "--repo", "/data")
	return run(c.t, stdin, "docker", append(full, args...)...)
}

func (c *cluster) mustCairn(node string, stdin []byte, args ...string) string {
	c.t.Helper()
	out, err := c.cairn(node, stdin, args...)
	if err != nil {
		c.t.Fatalf("%s: cairn %s: %v\n%s", node, strings.Join(args, " "), err, out)
	}
	return out
}

func (c *cluster) waitReady(node string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := c.cairn(node, nil, "id"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			logs, _ := run(c.t, nil, "docker", "logs", c.name(node))
			c.t.Fatalf("%s not ready after 60s:\n%s", node, logs)
		}
		<-time.After(200 * time.Millisecond)
	}
}

func (c *cluster) peerID(node string) string {
	c.t.Helper()
	var id struct {
		PeerID string `json:"peer_id"`
	}
	json.Unmarshal([]byte(c.mustCairn(node, nil, "id", "--json")), &id)
	return id.PeerID
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestFederationOfContainers forms a federation of the compose file's three
// nodes, each its own host, stores an object on one and fetches it on
// another across the Docker network; a container that was never admitted
// gets nothing.
func TestFederationOfContainers(t *testing.T) {
	c := startCluster(t)
	c.mustCairn("node1", nil, "federation", "create", "compose-test", "--operator", "op1", "--region", "eu")
	for i, node := range []string{"node2", "node3"} {
		var tok struct {
			Token string `json:"token"`
		}
		out := c.mustCairn("node1", nil, "federation", "admit", c.peerID(node), "--operator", "op"+string(rune('2'+i)), "--region", "us", "--json")
		json.Unmarshal([]byte(out), &tok)
		c.mustCairn(node, nil, "federation", "join", tok.Token)
	}

	secret := []byte("held on three hosts " + randomSuffix())
	var added struct {
		Capability string `json:"capability"`
	}
	json.Unmarshal([]byte(c.mustCairn("node1", secret, "add", "-", "--json")), &added)
	c.mustCairn("node3", nil, "get", added.Capability, "-o", "/data/restored")
	got := must(t, nil, "docker", "cp", c.name("node3")+":/data/restored", "-")
	if !strings.Contains(got, string(secret)) {
		t.Fatalf("node3 restored something else (tar stream of %d bytes)", len(got))
	}

	t.Run("outsider container gets nothing", func(t *testing.T) {
		outsider := c.prefix + "-outsider"
		network := c.prefix + "_federation"
		must(t, nil, "docker", "run", "-d", "--name", outsider, "--network", network, c.image)
		t.Cleanup(func() { exec.Command("docker", "rm", "-f", "-v", outsider).Run() })
		c.waitReadyNamed(outsider)
		out, err := run(t, nil, "docker", "exec", outsider, "/cairn", "--repo", "/data", "get", added.Capability, "-o", "/data/stolen")
		if err == nil {
			t.Fatalf("an outsider fetched the object: %s", out)
		}
		addr := firstRoutableAddr(t, c, "node1")
		if out, err := run(t, nil, "docker", "exec", outsider, "/cairn", "--repo", "/data", "connect", addr); err == nil {
			t.Fatalf("an outsider connected to node1: %s", out)
		}
		fmt.Printf("| a non-member container with the capability and every member's address: blocks obtained, connections accepted | 0, 0 | goal 0, 0 |\n")
	})
}

func (c *cluster) waitReadyNamed(container string) {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := run(c.t, nil, "docker", "exec", container, "/cairn", "--repo", "/data", "id"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s not ready after 60s", container)
		}
		<-time.After(200 * time.Millisecond)
	}
}

// firstRoutableAddr is a node's address on the Docker network.
func firstRoutableAddr(t *testing.T, c *cluster, node string) string {
	t.Helper()
	var id struct {
		Addrs []string `json:"addrs"`
	}
	json.Unmarshal([]byte(c.mustCairn(node, nil, "id", "--json")), &id)
	for _, a := range id.Addrs {
		if !strings.Contains(a, "/127.0.0.1/") {
			return a
		}
	}
	t.Fatalf("%s has no address outside loopback: %v", node, id.Addrs)
	return ""
}
