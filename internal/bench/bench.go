// Package bench measures Cairn's performance figures and this machine's own
// limits in one run, so every ratio it prints compares numbers taken side by
// side. Each figure is the median of several runs.
package bench

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Row is one line of the benchmark table.
type Row struct {
	Name   string
	Value  float64
	Unit   string
	Target string // what the issue asks for, if anything
	Note   string
}

// Table is a printed set of rows with the machine they ran on.
type Table struct {
	Title string
	Rows  []Row
}

// Print writes the table in Markdown, so BENCHMARKS.md can keep it as is.
func (t Table) Print(w io.Writer) {
	fmt.Fprintf(w, "### %s\n\n%s\n\n", t.Title, Machine())
	fmt.Fprintln(w, "| figure | value | target | note |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range t.Rows {
		fmt.Fprintf(w, "| %s | %s %s | %s | %s |\n", r.Name, format(r.Value), r.Unit, r.Target, r.Note)
	}
	fmt.Fprintln(w)
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// Machine describes where the figures were taken.
func Machine() string {
	return fmt.Sprintf("Machine: %s, %d cores, %s/%s, %s.", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}

// median returns the middle of the values (the mean of the two middle ones
// for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// rate runs fn runs times and returns the median MB/s for bytes per run.
func rate(runs int, bytes int64, fn func() error) (float64, error) {
	return timedRate(runs, bytes, func() (time.Duration, error) {
		start := time.Now()
		err := fn()
		return time.Since(start), err
	})
}

// timedRate runs fn runs times and returns the median MB/s for bytes per
// run, where fn reports how long its timed part took.
func timedRate(runs int, bytes int64, fn func() (time.Duration, error)) (float64, error) {
	var rates []float64
	for range runs {
		elapsed, err := fn()
		if err != nil {
			return 0, err
		}
		rates = append(rates, float64(bytes)/elapsed.Seconds()/1e6)
	}
	return median(rates), nil
}

// peakRSS is the process's peak resident memory so far, in MiB.
func peakRSS() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func cpuModel() string {
	data, err := readFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(data, "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}
