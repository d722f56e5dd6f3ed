// Command cairn runs and controls a Cairn node: a peer-to-peer replication
// node for trusted backup federations.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	if err := newRootCommand().Execute(); err != nil {
		var quiet silentError
		if !errors.As(err, &quiet) {
			fmt.Fprintln(os.Stderr, "cairn:", err)
		}
		os.Exit(1)
	}
}

// silentError is an error already reported to the user.
type silentError struct{ error }
