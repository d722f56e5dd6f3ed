package node

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipfs/go-datastore/query"
)

// eachStored calls fn with the last key segment and value of every entry
// under prefix in the node's datastore; a bad entry is logged and skipped,
// not fatal.
func (n *Node) eachStored(ctx context.Context, prefix string, fn func(name string, v []byte) error) error {
	res, err := n.disk.meta.Query(ctx, query.Query{Prefix: prefix})
	if err != nil {
		return fmt.Errorf("read stored %s: %w", prefix, err)
	}
	defer res.Close()
	for e := range res.Next() {
		if e.Error != nil {
			return fmt.Errorf("read stored %s: %w", prefix, e.Error)
		}
		if err := fn(strings.TrimPrefix(e.Key, prefix), e.Value); err != nil {
			n.logger.Warn("skipped a stored record", "key", e.Key, "err", err)
		}
	}
	return nil
}
