package user

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// File names used in messages; the files are the container's.
const (
	passwdPath = "/etc/passwd"
	groupPath  = "/etc/group"
)

// maxLineLength bounds one line: group lines with many members are long,
// but a file with a megabyte on one line is not a database.
const maxLineLength = 1 << 20

// passwdEntry is the part of an /etc/passwd line we use.
type passwdEntry struct {
	name string
	uid  uint32
	gid  uint32
	home string
}

// groupEntry is the part of an /etc/group line we use.
type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// eachLine calls fn with the colon-separated fields of every line of r that
// can be an entry. A missing file (see isMissing) has no lines. fn returns
// false to stop early.
func eachLine(r io.Reader, path string, fn func(fields []string) bool) error {
	if isMissing(r) {
		return nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLength)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		if !fn(strings.Split(line, ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

// isMissing reports whether r stands for a missing file: nil, or the nil
// *os.File that os.Open returns with its error, which callers easily pass
// on as a non-nil io.Reader.
func isMissing(r io.Reader) bool {
	f, isFile := r.(*os.File)
	return r == nil || (isFile && f == nil)
}

// findPasswd returns the first passwd entry for which match is true.
func findPasswd(r io.Reader, match func(passwdEntry) bool) (passwdEntry, bool, error) {
	var found passwdEntry
	var ok bool
	err := eachLine(r, passwdPath, func(fields []string) bool {
		// name:password:uid:gid:gecos:home:shell; uid and gid are required.
		if len(fields) < 4 {
			return true
		}
		uid, uidErr := parseID(fields[2])
		gid, gidErr := parseID(fields[3])
		if uidErr != nil || gidErr != nil {
			return true
		}
		entry := passwdEntry{name: fields[0], uid: uid, gid: gid}
		if len(fields) > 5 {
			entry.home = fields[5]
		}
		if match(entry) {
			found, ok = entry, true
			return false
		}
		return true
	})
	return found, ok, err
}

// eachGroup calls fn with every well-formed group entry until fn returns
// false.
func eachGroup(r io.Reader, fn func(groupEntry) bool) error {
	return eachLine(r, groupPath, func(fields []string) bool {
		// name:password:gid:member,member,...
		if len(fields) < 3 {
			return true
		}
		gid, err := parseID(fields[2])
		if err != nil {
			return true
		}
		entry := groupEntry{name: fields[0], gid: gid}
		if len(fields) > 3 {
			for _, member := range strings.Split(fields[3], ",") {
				if member = strings.TrimSpace(member); member != "" {
					entry.members = append(entry.members, member)
				}
			}
		}
		return fn(entry)
	})
}

// parseID parses a decimal uid or gid. (uid_t)-1 is not an ID: the kernel
// reads it as "leave unchanged".
func parseID(s string) (uint32, error) {
	id, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, err
	}
	if id == 1<<32-1 {
		return 0, strconv.ErrRange
	}
	return uint32(id), nil
}

// isNumeric reports whether s is a non-empty string of ASCII digits, the
// form that names an ID rather than a user or group.
func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
