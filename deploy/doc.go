// Package deploy holds the container image (Dockerfile) and the compose file
// that run Cairn nodes as separate hosts, and the tests that exercise both:
// each node in its own container on a Docker network the test creates.
package deploy
