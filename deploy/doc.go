// Package deploy holds what runs Cairn nodes in production: the container
// image (Dockerfile), the compose file whose three nodes federate by
// themselves, and the systemd unit (cairn.service); and the tests that
// exercise them: each node in its own container on a Docker network the
// test creates, and the unit checked by systemd-analyze.
package deploy
