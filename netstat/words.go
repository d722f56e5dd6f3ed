package netstat

import "strconv"

func itoa(n int) string { return strconv.Itoa(n) }

// plural renders "1 copy", "3 copies".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
