package specconv

import (
	"encoding/json"
	"errors"
	"strconv"
)

// errDecline is returned by the fast config decoder for anything it does
// not decode exactly as encoding/json would; the caller then uses
// encoding/json. It is never shown to a user.
var errDecline = errors.New("fast decoder declines")

// jsonReader walks a JSON document that json.Valid accepted, value by
// value, without reflection. It only handles what the config decoder
// needs and declines (errDecline) anything else: duplicate or non-ASCII
// member names, members whose names differ from a field's only in case,
// nulls where encoding/json's handling is subtle.
type jsonReader struct {
	data []byte
	pos  int
}

func (r *jsonReader) skipSpace() {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// next returns the first byte of the next value (after white space), or 0
// at the end.
func (r *jsonReader) next() byte {
	r.skipSpace()
	if r.pos >= len(r.data) {
		return 0
	}
	return r.data[r.pos]
}

// null consumes a null if one comes next.
func (r *jsonReader) null() bool {
	if r.next() == 'n' {
		r.pos += len("null")
		return true
	}
	return false
}

// maxStructMembers bounds the members of an object decoded into a
// struct: none of the runtime-spec's has half as many fields, and the
// duplicate check below is quadratic. A bigger object is left to
// encoding/json.
const maxStructMembers = 64

// object calls member for each member of the object that comes next, to
// be decoded into a struct, with its name; member must consume the value.
// Names must be plain ASCII and unique (case-insensitively: encoding/json
// matches fields that way and merges duplicates).
func (r *jsonReader) object(member func(name string) error) error {
	var seen []string
	return r.members(func(name string) error {
		if len(seen) == maxStructMembers {
			return errDecline
		}
		for _, s := range seen {
			if equalFoldASCII(s, name) {
				return errDecline
			}
		}
		seen = append(seen, name)
		return member(name)
	})
}

// members calls member for each member of the object that comes next,
// with its name (plain ASCII), without checking for duplicates: for maps,
// where the last of equal keys wins as with encoding/json.
func (r *jsonReader) members(member func(name string) error) error {
	if r.next() != '{' {
		return errDecline
	}
	r.pos++
	for {
		switch r.next() {
		case '}':
			r.pos++
			return nil
		case ',':
			r.pos++
			continue
		}
		name, err := r.plainString()
		if err != nil {
			return err
		}
		if r.next() != ':' {
			return errDecline
		}
		r.pos++
		if err := member(name); err != nil {
			return err
		}
	}
}

// array calls element for each element of the array that comes next.
func (r *jsonReader) array(element func() error) error {
	if r.next() != '[' {
		return errDecline
	}
	r.pos++
	for {
		switch r.next() {
		case ']':
			r.pos++
			return nil
		case ',':
			r.pos++
			continue
		}
		if err := element(); err != nil {
			return err
		}
	}
}

// plainString reads a string made of printable ASCII without escapes.
func (r *jsonReader) plainString() (string, error) {
	if r.next() != '"' {
		return "", errDecline
	}
	for i := r.pos + 1; i < len(r.data); i++ {
		c := r.data[i]
		if c == '"' {
			s := string(r.data[r.pos+1 : i])
			r.pos = i + 1
			return s, nil
		}
		if c == '\\' || c < 0x20 || c > 0x7e {
			return "", errDecline
		}
	}
	return "", errDecline
}

// str reads a string value; escapes and non-ASCII bytes are left to
// encoding/json, which also replaces invalid UTF-8 as Unmarshal does.
func (r *jsonReader) str() (string, error) {
	start := r.pos
	if s, err := r.plainString(); err == nil {
		return s, nil
	}
	r.pos = start
	raw, err := r.raw()
	if err != nil || len(raw) == 0 || raw[0] != '"' {
		return "", errDecline
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errDecline
	}
	return s, nil
}

func (r *jsonReader) boolean() (bool, error) {
	switch r.next() {
	case 't':
		r.pos += len("true")
		return true, nil
	case 'f':
		r.pos += len("false")
		return false, nil
	}
	return false, errDecline
}

// number returns the literal of the number that comes next.
func (r *jsonReader) number() (string, error) {
	c := r.next()
	if c != '-' && (c < '0' || c > '9') {
		return "", errDecline
	}
	start := r.pos
	for r.pos < len(r.data) {
		c := r.data[r.pos]
		if c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || (c >= '0' && c <= '9') {
			r.pos++
			continue
		}
		break
	}
	return string(r.data[start:r.pos]), nil
}

// uint and int parse an integer of the given size as encoding/json does
// (strconv); fractions, exponents and overflows decline.
func (r *jsonReader) uint(bits int) (uint64, error) {
	lit, err := r.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(lit, 10, bits)
	if err != nil {
		return 0, errDecline
	}
	return n, nil
}

func (r *jsonReader) int(bits int) (int64, error) {
	lit, err := r.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(lit, 10, bits)
	if err != nil {
		return 0, errDecline
	}
	return n, nil
}

// raw returns the bytes of the value that comes next and skips it.
func (r *jsonReader) raw() ([]byte, error) {
	r.skipSpace()
	start := r.pos
	if err := r.skip(); err != nil {
		return nil, err
	}
	return r.data[start:r.pos], nil
}

// skip passes over the value that comes next, whatever it is.
func (r *jsonReader) skip() error {
	switch c := r.next(); {
	case c == '{':
		r.pos++
		depth := 1
		return r.skipNested(depth)
	case c == '[':
		r.pos++
		return r.skipNested(1)
	case c == '"':
		return r.skipString()
	case c == 't':
		r.pos += len("true")
	case c == 'f':
		r.pos += len("false")
	case c == 'n':
		r.pos += len("null")
	default:
		_, err := r.number()
		return err
	}
	return nil
}

// skipNested passes over the rest of an object or array whose opening
// bracket was read, depth levels deep.
func (r *jsonReader) skipNested(depth int) error {
	for r.pos < len(r.data) {
		switch r.data[r.pos] {
		case '"':
			if err := r.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				r.pos++
				return nil
			}
		}
		r.pos++
	}
	return errDecline
}

func (r *jsonReader) skipString() error {
	for i := r.pos + 1; i < len(r.data); i++ {
		switch r.data[i] {
		case '\\':
			i++
		case '"':
			r.pos = i + 1
			return nil
		}
	}
	return errDecline
}

// atEnd reports whether only white space is left.
func (r *jsonReader) atEnd() bool {
	r.skipSpace()
	return r.pos == len(r.data)
}

// stringList reads an array of strings, or null (nil). An empty array
// gives an empty, non-nil slice, as encoding/json does.
func (r *jsonReader) stringList() ([]string, error) {
	if r.null() {
		return nil, nil
	}
	list := []string{}
	err := r.array(func() error {
		if r.next() == 'n' {
			return errDecline
		}
		s, err := r.str()
		list = append(list, s)
		return err
	})
	return list, err
}

// stringMap reads an object of strings, or null (nil).
func (r *jsonReader) stringMap() (map[string]string, error) {
	if r.null() {
		return nil, nil
	}
	m := map[string]string{}
	err := r.members(func(name string) error {
		if r.next() == 'n' {
			return errDecline
		}
		v, err := r.str()
		m[name] = v
		return err
	})
	return m, err
}

// equalFoldASCII is strings.EqualFold for ASCII strings.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// unknownMember skips the value of a member none of names matches exactly,
// and declines one that matches in another case: encoding/json would
// decode it into that field.
func (r *jsonReader) unknownMember(name string, names ...string) error {
	for _, n := range names {
		if equalFoldASCII(n, name) {
			return errDecline
		}
	}
	return r.skip()
}
