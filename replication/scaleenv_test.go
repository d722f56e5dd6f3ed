package replication

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scale simulation's size and windows from the environment
// (CAIRN_CORE_SIM and friends, see TestScaleCore).

func scaleConfigFromEnv(t *testing.T) scaleConfig {
	cfg := defaultScaleConfig()
	if v := os.Getenv("CAIRN_CORE_SIM"); v != "" {
		n, o, ok := strings.Cut(v, "x")
		nodes, err1 := strconv.Atoi(n)
		objects, err2 := strconv.Atoi(o)
		if !ok || err1 != nil || err2 != nil || nodes < cfg.regions || objects < 1 || objects >= 1e7 {
			t.Fatalf("CAIRN_CORE_SIM=%q: want NODESxOBJECTS, at least %d nodes, 1 to 9,999,999 objects", v, cfg.regions)
		}
		cfg.nodes, cfg.objects, cfg.idle = nodes, objects, 10*time.Minute
	}
	if v := os.Getenv("CAIRN_CORE_SIM_LOSS"); v != "" {
		loss, err := strconv.ParseFloat(v, 64)
		if err != nil || loss < 0 || loss >= 1 {
			t.Fatalf("CAIRN_CORE_SIM_LOSS=%q: want a fraction below 1", v)
		}
		cfg.loss = loss
	}
	if v := os.Getenv("CAIRN_CORE_SIM_SETTLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			t.Fatalf("CAIRN_CORE_SIM_SETTLE=%q: want a duration", v)
		}
		cfg.settle = d
	}
	if v := os.Getenv("CAIRN_CORE_SIM_IDLE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("CAIRN_CORE_SIM_IDLE=%q: want a positive duration", v)
		}
		cfg.idle = d
	}
	return cfg
}
