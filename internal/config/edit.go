package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/cairn-fed/cairn/configs"
)

// Get returns the value of key ("section.field") that a config file's
// bytes give: the file's own, or the default when the file does not set
// it. Strings come back as strings (durations too), whole numbers as
// int64 and lists as []any, as TOML decodes them.
func Get(data []byte, key string) (any, error) {
	section, field, def, err := lookup(key)
	if err != nil {
		return nil, err
	}
	file, err := decodeMap(data)
	if err != nil {
		return nil, err
	}
	if v, ok := sectionOf(file, section)[field]; ok {
		return v, nil
	}
	return def, nil
}

// Set returns a config file's bytes with key ("section.field") set to
// value, which is a TOML value, or for a string field the plain text
// ("3s" or 3s). Only the key's own line changes, so comments stay; a key
// the file does not set yet is added to its section. The result must pass
// Parse, as the daemon's start does: an invalid value is an ErrInvalid
// error that names the field, and nothing is returned to write.
func Set(data []byte, key, value string) ([]byte, error) {
	section, field, def, err := lookup(key)
	if err != nil {
		return nil, err
	}
	literal, parsed, err := literalFor(key, def, value)
	if err != nil {
		return nil, err
	}
	before, err := decodeMap(data)
	if err != nil {
		return nil, err
	}
	out := []byte(setLine(string(data), section, field, literal))
	if err := checkOnlyChanged(before, out, section, field, parsed); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if _, err := Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// lookup splits a key and finds its default; a key that configs/default.toml
// does not have is an error.
func lookup(key string) (section, field string, def any, err error) {
	section, field, ok := strings.Cut(key, ".")
	defaults, derr := decodeMap(configs.Default)
	if derr != nil {
		panic(fmt.Sprintf("embedded default config is broken: %v", derr))
	}
	def, known := sectionOf(defaults, section)[field]
	if !ok || !known {
		return "", "", nil, fmt.Errorf("%w: unknown key %q: keys are SECTION.FIELD as in configs/default.toml, such as replication.repair_grace", ErrInvalid, key)
	}
	return section, field, def, nil
}

func decodeMap(data []byte) (map[string]any, error) {
	m := map[string]any{}
	if _, err := toml.Decode(string(data), &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return m, nil
}

func sectionOf(m map[string]any, section string) map[string]any {
	s, _ := m[section].(map[string]any)
	return s
}

// literalFor turns what the user typed into the TOML text to write and
// the value it decodes to: a TOML value of the default's type as it is,
// else, for a string field, the text quoted.
func literalFor(key string, def any, value string) (string, any, error) {
	value = strings.TrimSpace(value)
	var v struct{ V any }
	if _, err := toml.Decode("V = "+value, &v); err == nil && reflect.TypeOf(v.V) == reflect.TypeOf(def) {
		return value, v.V, nil
	}
	if _, ok := def.(string); ok {
		quoted, _ := json.Marshal(value) // a JSON string is a TOML basic string
		return string(quoted), value, nil
	}
	return "", nil, invalid(key, "%q is not a TOML %s like the default %s", value, kindOf(def), mustLiteral(def))
}

func kindOf(v any) string {
	switch v.(type) {
	case int64:
		return "whole number"
	case []any:
		return "list"
	case bool:
		return "boolean"
	}
	return "value"
}

func mustLiteral(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkOnlyChanged makes sure that the edited file decodes to what the
// original did with only section.field changed: a value written over
// several lines, or set elsewhere in the file, is not edited in place.
func checkOnlyChanged(before map[string]any, out []byte, section, field string, want any) error {
	after, err := decodeMap(out)
	if err != nil {
		return fmt.Errorf("could not change the value in place (%v); edit the file by hand", err)
	}
	s := sectionOf(before, section)
	if s == nil {
		s = map[string]any{}
		before[section] = s
	}
	s[field] = want
	if !reflect.DeepEqual(before, after) {
		return fmt.Errorf("%w: could not change the value in place (is it written over several lines?); edit the file by hand", ErrInvalid)
	}
	return nil
}

// setLine replaces the line `field = ...` inside [section], keeping its
// indentation and a comment after the value, or adds the line after the
// section's last key, or adds the section at the end.
func setLine(text, section, field, literal string) string {
	lines := strings.Split(text, "\n")
	current, header, last := "", -1, -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]") {
			current = strings.TrimSpace(strings.Trim(t, "[]"))
			if current == section {
				header, last = i, i
			}
			continue
		}
		if current != section {
			continue
		}
		name, rest, ok := strings.Cut(t, "=")
		if !ok || strings.HasPrefix(t, "#") {
			continue
		}
		last = i
		if strings.TrimSpace(name) == field {
			indent := l[:len(l)-len(strings.TrimLeft(l, " \t"))]
			lines[i] = indent + field + " = " + literal + trailingComment(rest)
			return strings.Join(lines, "\n")
		}
	}
	add := field + " = " + literal
	if header < 0 {
		return strings.TrimRight(text, "\n") + "\n\n[" + section + "]\n" + add + "\n"
	}
	lines = append(lines[:last+1], append([]string{add}, lines[last+1:]...)...)
	return strings.Join(lines, "\n")
}

// trailingComment finds a comment after a TOML value: the first # after
// which what comes before it is a whole value.
func trailingComment(rest string) string {
	for i := strings.Index(rest, "#"); i >= 0; {
		var v struct{ V any }
		if _, err := toml.Decode("V = "+rest[:i], &v); err == nil {
			return " " + strings.TrimSpace(rest[i:])
		}
		next := strings.Index(rest[i+1:], "#")
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return ""
}
