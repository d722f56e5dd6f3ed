package object

import "github.com/cairn-fed/cairn/internal/chunker"

func chunkerConfig(minSize, avg, maxSize int) chunker.Config {
	return chunker.Config{Min: minSize, Avg: avg, Max: maxSize}
}
