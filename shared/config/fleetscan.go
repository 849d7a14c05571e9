package config

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// scannedFleet is one element of the fleets array: its JSON and its route.
// decodeNow is set when the scan met something whose meaning only the full
// decoder knows (an escaped or non-string name, a key in another case, a
// key repeated, a field it does not know, a null where an object goes):
// that fleet's route is taken from its full decode, at load.
type scannedFleet struct {
	raw       []byte
	route     route
	decodeNow bool
}

// errScan means the fleets array is not laid out as the scan reads it
// (not an array of objects, brackets that do not match): the caller
// decodes it whole, and encoding/json says what is wrong.
var errScan = errors.New("fleets: not an array of objects")

// scanFleets splits a JSON array of fleets into each fleet's JSON and
// reads its route, at the cost of one pass over the bytes: no reflection,
// and nothing allocated but the route's strings. Values it does not route
// by are skipped, not checked: the full decode of that fleet checks them.
func scanFleets(b []byte) ([]scannedFleet, error) {
	s := scanner{b: b}
	s.space()
	if !s.consume('[') {
		return nil, errScan
	}
	var out []scannedFleet
	s.space()
	if s.consume(']') {
		return out, nil
	}
	for {
		s.space()
		start := s.i
		f, ok := s.fleet()
		if !ok {
			return nil, errScan
		}
		f.raw = b[start:s.i]
		out = append(out, f)
		s.space()
		if s.consume(']') {
			return out, nil
		}
		if !s.consume(',') {
			return nil, errScan
		}
	}
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) consume(c byte) bool {
	if s.peek() == c {
		s.i++
		return true
	}
	return false
}

// str reads the string at s.i. plain is false when it holds an escape or
// is not valid UTF-8: encoding/json would decode it to other bytes.
func (s *scanner) str() (v []byte, plain, ok bool) {
	start := s.i + 1
	if s.peek() != '"' || !s.skipString() {
		return nil, false, false
	}
	v = s.b[start : s.i-1]
	ascii := true
	for _, c := range v {
		switch {
		case c == '\\':
			return v, false, true
		case c < 0x20:
			// Not JSON: left to the full decoder to say so.
			return v, false, true
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return v, ascii || utf8.Valid(v), true
}

// skip passes over the value at s.i, matching brackets and strings only.
func (s *scanner) skip() bool {
	switch s.peek() {
	case '"':
		return s.skipString()
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch c := s.b[s.i]; {
			case !structural[c]:
				s.i++
			case c == '"':
				if !s.skipString() {
					return false
				}
			case c == '{' || c == '[':
				depth++
				s.i++
			default: // '}', ']'
				depth--
				s.i++
				if depth == 0 {
					return true
				}
			}
		}
		return false
	default:
		start := s.i
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.i > start
			}
			s.i++
		}
		return false
	}
}

// structural marks the bytes that skip stops at.
var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipString passes over the string at s.i without reading it.
func (s *scanner) skipString() bool {
	for i := s.i + 1; i < len(s.b); i++ {
		switch s.b[i] {
		case '"':
			s.i = i + 1
			return true
		case '\\':
			i++
		}
	}
	return false
}

// object calls member for each key of the object at s.i, with s.i at the
// key's value; member consumes the value. The key is nil when it is not
// plain (see str).
func (s *scanner) object(member func(key []byte) bool) bool {
	if !s.consume('{') {
		return false
	}
	s.space()
	if s.consume('}') {
		return true
	}
	for {
		s.space()
		key, plain, ok := s.str()
		if !ok {
			return false
		}
		if !plain {
			key = nil
		}
		s.space()
		if !s.consume(':') {
			return false
		}
		s.space()
		if !member(key) {
			return false
		}
		s.space()
		if s.consume('}') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}

// keys tells, for one object, which of its keys the scan reads: want
// reports which of names key is, exactly and for the first time. A key the
// full decoder would match to one of them too (another case: it matches
// case-insensitively; an escaped one), or one seen again (the last one
// wins, and objects merge), sets odd.
type keys struct {
	seen uint16
	odd  *bool
}

func (k *keys) want(key []byte, names ...string) (int, bool) {
	for i, n := range names {
		switch {
		case string(key) == n:
			if k.seen&(1<<i) != 0 {
				*k.odd = true
				return -1, false
			}
			k.seen |= 1 << i
			return i, true
		case key == nil || bytes.EqualFold(key, []byte(n)):
			*k.odd = true
		}
	}
	return -1, false
}

// fleetFields are the keys of a fleet the full decoder knows; any other is
// an unknown field, which it refuses.
var fleetFields = []string{"name", "group", "scaling", "rollout", "dryRun", "lifecycle", "hooks"}

// fleet reads one fleet object's route.
func (s *scanner) fleet() (scannedFleet, bool) {
	var f scannedFleet
	top := keys{odd: &f.decodeNow}
	ok := s.object(func(key []byte) bool {
		field, ok := top.want(key, fleetFields...)
		if !ok {
			f.decodeNow = true
		}
		switch field {
		case 0:
			return s.plainString(&f.decodeNow, &f.route.name)
		case 1:
			return s.plainString(&f.decodeNow, &f.route.group)
		case 2:
			return s.nested(&f.decodeNow, "rules", func() bool { return s.rules(&f) })
		case 3:
			return s.nested(&f.decodeNow, "blueGreen", func() bool {
				return s.nested(&f.decodeNow, "peerGroup", func() bool {
					return s.plainString(&f.decodeNow, &f.route.peerGroup)
				})
			})
		}
		return s.skip()
	})
	return f, ok
}

// plainString reads into v a string value the full decoder reads as its
// bytes; anything else sets odd and is skipped.
func (s *scanner) plainString(odd *bool, v *string) bool {
	if s.peek() != '"' {
		*odd = true
		return s.skip()
	}
	b, plain, ok := s.str()
	if !plain {
		*odd = true
	}
	*v = string(b)
	return ok
}

// nested reads the object at s.i, calling read at the value of its key
// field and skipping the others; anything but an object sets odd.
func (s *scanner) nested(odd *bool, field string, read func() bool) bool {
	if s.peek() != '{' {
		*odd = true
		return s.skip()
	}
	k := keys{odd: odd}
	return s.object(func(key []byte) bool {
		if _, ok := k.want(key, field); ok {
			return read()
		}
		return s.skip()
	})
}

// rules reads the alarm of each rule in the array at s.i ("" for a rule
// that names none, as the full decoder reads it).
func (s *scanner) rules(f *scannedFleet) bool {
	if !s.consume('[') {
		f.decodeNow = true
		return s.skip()
	}
	s.space()
	if s.consume(']') {
		return true
	}
	for {
		s.space()
		alarm := ""
		ok := s.nested(&f.decodeNow, "alarm", func() bool { return s.plainString(&f.decodeNow, &alarm) })
		if !ok {
			return false
		}
		f.route.alarms = append(f.route.alarms, alarm)
		s.space()
		if s.consume(']') {
			return true
		}
		if !s.consume(',') {
			return false
		}
	}
}
