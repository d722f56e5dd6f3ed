package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	env     []string // the compose file's variables
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

// startCluster builds a static binary and a scratch image, starts the
// compose file under a unique project name with one `up`, and waits until
// its three nodes have federated by themselves.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	requireDocker(t)
	suffix := randomSuffix()
	c := &cluster{t: t, prefix: "cairntest-" + suffix, image: "cairn-test:" + suffix, compose: composeCommand(t), dir: t.TempDir()}
	c.buildImage()
	// Empty metrics ports publish each node's metrics on a free port of
	// the host's loopback, so that clusters never collide.
	env := []string{"CAIRN_IMAGE=" + c.image, "CAIRN_PREFIX=" + c.prefix,
		"CAIRN_METRICS_PORT1=", "CAIRN_METRICS_PORT2=", "CAIRN_METRICS_PORT3="}
	c.env = env
	t.Cleanup(func() {
		c.composeRun("down", "-v", "-t", "2")
		exec.Command("docker", "image", "rm", "-f", c.image).Run()
	})
	if out, err := c.composeRun("up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	for _, n := range []string{"node1", "node2", "node3"} {
		c.waitReady(n)
	}
	for _, n := range []string{"node1", "node2", "node3"} {
		c.waitMembers(n, 3)
	}
	return c
}

// waitMembers waits until node sees a federation of want members.
func (c *cluster) waitMembers(node string, want int) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var info struct {
			Members []json.RawMessage `json:"members"`
		}
		out, err := c.cairn(node, nil, "federation", "show", "--json")
		if err == nil && json.Unmarshal([]byte(out), &info) == nil && len(info.Members) == want {
			return
		}
		if time.Now().After(deadline) {
			logs := ""
			for _, svc := range []string{"node1-enroll", "node2-enroll", "node3-enroll"} {
				l, _ := c.composeRun("logs", svc)
				logs += l
			}
			c.t.Fatalf("%s is not in a federation of %d after 90s: %s\n%s", node, want, out, logs)
		}
		<-time.After(250 * time.Millisecond)
	}
}

// composeRun runs a compose command on the cluster's project.
func (c *cluster) composeRun(args ...string) (string, error) {
	full := append(append([]string{}, c.compose[1:]...), "-p", c.prefix, "-f", "compose.yaml")
	cmd := exec.Command(c.compose[0], append(full, args...)...)
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// scrape fetches a node's metrics from the host, through the port the
// compose file publishes.
func (c *cluster) scrape(node string) string {
	c.t.Helper()
	hostPort := strings.TrimSpace(must(c.t, nil, "docker", "port", c.name(node), "9501/tcp"))
	hostPort, _, _ = strings.Cut(hostPort, "\n") // one line per address family
	resp, err := http.Get("http://" + hostPort + "/metrics")
	if err != nil {
		c.t.Fatalf("scrape %s from the host at %s: %v", node, hostPort, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("scrape %s from the host at %s: %s\n%s", node, hostPort, resp.Status, body)
	}
	return string(body)
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

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// TestFederationOfContainers: the compose file's three nodes, each its
// own host, federate by themselves; each one's metrics are scraped from
// the host; an object stored on one is fetched on another across the
// Docker network; a container that was never admitted gets nothing.
func TestFederationOfContainers(t *testing.T) {
	c := startCluster(t)
	for _, n := range []string{"node1", "node2", "node3"} {
		body := c.scrape(n)
		if !strings.Contains(body, "cairn_roster_version 3") {
			t.Errorf("%s's metrics, scraped from the host, show no roster of version 3 (create and two admissions):\n%.2000s", n, body)
		}
	}
	if out := c.mustCairn("node1", nil, "federation", "show"); !strings.Contains(out, "op2") || !strings.Contains(out, "op3") {
		t.Errorf("node1's federation:\n%s", out)
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
