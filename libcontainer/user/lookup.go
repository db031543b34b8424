package user

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// LookupUser resolves name, as given to `docker run --user`, against the
// contents of /etc/passwd and /etc/group (nil, or a nil *os.File, means the
// file is missing):
//
//   - "name" or "uid": the passwd entry's uid and gid, plus the gid of
//     every group listing the user name as a member;
//   - "name:group", "uid:gid", ...: the group (by name, or a number) replaces
//     the primary gid and no supplementary groups are added.
//
// A number that is not in the files is used as is, with gid 0 if no group
// is given, so numeric users need no files. Names must be found:
// `user "bob": not found in /etc/passwd`.
func LookupUser(passwd, group io.Reader, name string) (uid, gid uint32, groups []uint32, err error) {
	userPart, groupPart, _ := strings.Cut(name, ":")
	if userPart == "" {
		return 0, 0, nil, fmt.Errorf("user %q: empty user name", name)
	}
	entry, err := lookupPasswd(passwd, userPart)
	if err != nil {
		return 0, 0, nil, err
	}
	if groupPart != "" {
		gid, err := lookupGroupID(group, groupPart)
		if err != nil {
			return 0, 0, nil, err
		}
		return entry.uid, gid, nil, nil
	}
	if entry.name == "" {
		// A bare uid unknown to /etc/passwd has no name to be a member by.
		return entry.uid, entry.gid, nil, nil
	}
	groups, err = memberGroups(group, entry.name)
	if err != nil {
		return 0, 0, nil, err
	}
	return entry.uid, entry.gid, groups, nil
}

// lookupPasswd finds the user part of a user spec. An unknown numeric uid
// yields an entry with no name and gid 0.
func lookupPasswd(passwd io.Reader, userPart string) (passwdEntry, error) {
	if isNumeric(userPart) {
		uid, err := parseID(userPart)
		if err != nil {
			return passwdEntry{}, fmt.Errorf("user %q: invalid uid: %w", userPart, err)
		}
		entry, found, err := findPasswd(passwd, func(e passwdEntry) bool { return e.uid == uid })
		if err != nil {
			return passwdEntry{}, err
		}
		if !found {
			return passwdEntry{uid: uid}, nil
		}
		return entry, nil
	}
	entry, found, err := findPasswd(passwd, func(e passwdEntry) bool { return e.name == userPart })
	if err != nil {
		return passwdEntry{}, err
	}
	if !found {
		return passwdEntry{}, fmt.Errorf("user %q: not found in %s", userPart, passwdPath)
	}
	return entry, nil
}

// lookupGroupID resolves the group part of a user spec to a gid.
func lookupGroupID(group io.Reader, groupPart string) (uint32, error) {
	if isNumeric(groupPart) {
		gid, err := parseID(groupPart)
		if err != nil {
			return 0, fmt.Errorf("group %q: invalid gid: %w", groupPart, err)
		}
		return gid, nil
	}
	var gid uint32
	found := false
	err := eachGroup(group, func(g groupEntry) bool {
		if g.name == groupPart {
			gid, found = g.gid, true
		}
		return !found
	})
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("group %q: not found in %s", groupPart, groupPath)
	}
	return gid, nil
}

// memberGroups returns, in file order and without repeats, the gids of the
// groups that list userName as a member.
func memberGroups(group io.Reader, userName string) ([]uint32, error) {
	var gids []uint32
	err := eachGroup(group, func(g groupEntry) bool {
		if slices.Contains(g.members, userName) && !slices.Contains(gids, g.gid) {
			gids = append(gids, g.gid)
		}
		return true
	})
	return gids, err
}

// HomeDir returns the home directory of uid in /etc/passwd (nil, or a nil
// *os.File, means the file is missing), or "/" when uid has none or cannot be found: like runc,
// HOME is then set to "/" rather than failing the container.
func HomeDir(passwd io.Reader, uid uint32) string {
	entry, found, err := findPasswd(passwd, func(e passwdEntry) bool { return e.uid == uid })
	if err != nil || !found || entry.home == "" {
		return "/"
	}
	return entry.home
}

// LookupUserFS is LookupUser with the files read from fsys, which must be
// rooted at the container's root (e.g. os.DirFS("/") after pivot_root).
// Missing files are treated as empty; other errors are returned.
func LookupUserFS(fsys fs.FS, name string) (uid, gid uint32, groups []uint32, err error) {
	passwd, err := openOptional(fsys, passwdPath)
	if err != nil {
		return 0, 0, nil, err
	}
	if passwd != nil {
		defer passwd.Close()
	}
	group, err := openOptional(fsys, groupPath)
	if err != nil {
		return 0, 0, nil, err
	}
	if group != nil {
		defer group.Close()
	}
	return LookupUser(readerOrNil(passwd), readerOrNil(group), name)
}

// HomeDirFS is HomeDir with /etc/passwd read from fsys (see LookupUserFS).
func HomeDirFS(fsys fs.FS, uid uint32) string {
	passwd, err := openOptional(fsys, passwdPath)
	if err != nil || passwd == nil {
		return "/"
	}
	defer passwd.Close()
	return HomeDir(passwd, uid)
}

// openOptional opens the absolute container path in fsys; a missing file
// is (nil, nil).
func openOptional(fsys fs.FS, path string) (fs.File, error) {
	f, err := fsys.Open(strings.TrimPrefix(path, "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return f, nil
}

// readerOrNil keeps a missing file a nil io.Reader: a nil fs.File stored
// in an io.Reader would not compare equal to nil.
func readerOrNil(f fs.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

// NameFS returns the user name of uid in fsys's /etc/passwd, or the uid
// as a decimal string when it has none (how runc fills the state's owner).
func NameFS(fsys fs.FS, uid uint32) string {
	fallback := strconv.FormatUint(uint64(uid), 10)
	passwd, err := openOptional(fsys, passwdPath)
	if err != nil || passwd == nil {
		return fallback
	}
	defer passwd.Close()
	entry, found, err := findPasswd(passwd, func(e passwdEntry) bool { return e.uid == uid })
	if err != nil || !found || entry.name == "" {
		return fallback
	}
	return entry.name
}
