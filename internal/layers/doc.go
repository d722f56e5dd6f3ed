// Package layers holds no code: its test keeps Cairn's logic packages
// (replication, tombstone, netstat, federation) pure, failing the build when
// one of them imports networking, the operating system, libp2p or boxo, or
// reads the wall clock. The node does the IO and passes the time in.
package layers
