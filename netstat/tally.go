package netstat

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Tally counts objects per state. Build it in one pass with TallyOf, or
// keep one up to date with Add, Remove and Move as states change. The zero
// value is an empty tally.
type Tally struct {
	counts [numStates]int
}

// Add counts one more object in state s.
func (t *Tally) Add(s State) { t.counts[s.clamp()]++ }

// Remove counts one object fewer in state s.
func (t *Tally) Remove(s State) { t.counts[s.clamp()]-- }

// Count returns how many objects are in state s.
func (t Tally) Count(s State) int { return t.counts[s.clamp()] }

// Total returns how many objects were counted.
func (t Tally) Total() int {
	n := 0
	for _, c := range t.counts {
		n += c
	}
	return n
}

func (s State) clamp() State {
	if s >= numStates {
		return StateUnknown
	}
	return s
}

// String renders the summary line, for example
// "12 objects: 9 backed up, 2 replicating, 1 at risk". States with no
// objects are left out.
func (t Tally) String() string {
	total := t.Total()
	if total == 0 {
		return "no objects"
	}
	parts := make([]string, 0, numStates)
	for _, s := range append(States(), StateUnknown) {
		if n := t.counts[s]; n != 0 {
			parts = append(parts, itoa(n)+" "+strings.ToLower(s.Label()))
		}
	}
	return plural(total, "object", "objects") + ": " + strings.Join(parts, ", ")
}

// MarshalJSON encodes the tally as {"total": 12, "backed_up": 9, ...}
// with every state present, zero or not, and the summary line.
func (t Tally) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, numStates+2)
	for _, s := range States() {
		m[s.String()] = t.counts[s]
	}
	m["total"], m["summary"] = t.Total(), t.String()
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes; unknown keys are ignored.
func (t *Tally) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("decode tally: %w", err)
	}
	*t = Tally{}
	for _, s := range States() {
		if raw, ok := m[s.String()]; ok {
			if err := json.Unmarshal(raw, &t.counts[s]); err != nil {
				return fmt.Errorf("decode tally %s: %w", s, err)
			}
		}
	}
	return nil
}
