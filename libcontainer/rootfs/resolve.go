package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks is how many symlinks one lookup may follow, as in the kernel.
const maxSymlinks = 40

// maxCreateRetries bounds how often a component that vanished right after
// we created it (a race with another process) is created again.
const maxCreateRetries = 8

// createMode says what resolveInRoot makes when components are missing.
type createMode int

const (
	// createNothing fails with ENOENT on any missing component.
	createNothing createMode = iota
	// createParents makes missing directories but leaves the final
	// component missing (target.file is nil then).
	createParents
	// createDir makes missing directories, the final one included.
	createDir
	// createFile makes missing directories and the final component as an
	// empty regular file.
	createFile
)

// finalSymlink says what resolveInRoot does when the last component is a
// symlink.
type finalSymlink int

const (
	// followSymlink follows it, inside the root, like any other symlink.
	followSymlink finalSymlink = iota
	// refuseSymlink fails: for /proc, /sys and /dev (CVE-2019-19921).
	refuseSymlink
	// keepSymlink returns the symlink itself, for callers that replace it.
	keepSymlink
)

type resolveOptions struct {
	create createMode
	final  finalSymlink
}

// target is a path resolved inside the rootfs: the directory that holds it,
// its name there and, unless it does not exist, an O_PATH descriptor of it.
// Looking name up again in dir (reopen) finds whatever is mounted on it.
type target struct {
	dir  *os.File
	name string
	file *os.File
}

func (t *target) Close() {
	if t.file != nil {
		t.file.Close()
	}
	t.dir.Close()
}

// reopen looks the target up again in its directory. After a mount onto
// t.file, t.file still refers to the covered directory; reopen returns the
// root of the new mount.
func (t *target) reopen() (*os.File, error) {
	return openEntry(t.dir, t.name)
}

// openEntry opens one directory entry without following it if it is a
// symlink: name never contains "/", so the lookup cannot leave dir.
func openEntry(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "openat", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

func fileMode(f *os.File) (uint32, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, fmt.Errorf("fstat %s: %w", f.Name(), err)
	}
	return st.Mode & unix.S_IFMT, nil
}

func splitComponents(p string) []string {
	var parts []string
	for _, part := range strings.Split(p, "/") {
		if part != "" && part != "." {
			parts = append(parts, part)
		}
	}
	return parts
}

// resolveInRoot looks unsafePath up inside root as if root were "/": an
// absolute symlink restarts at root and ".." never goes above it. Every step
// is a single-component openat with O_NOFOLLOW from a descriptor we already
// hold, and ".." is handled by going back to the descriptor we came from,
// so no lookup can leave root whatever the rootfs contains, even if it
// changes meanwhile. Symlinks are followed (inside root), except a final one
// if opts.final says otherwise. The path may not resolve to root itself.
func resolveInRoot(root *os.File, unsafePath string, opts resolveOptions) (*target, error) {
	if t, ok := resolveFast(root, unsafePath, opts); ok {
		return t, nil
	}
	t, err := walk(root, unsafePath, opts)
	if err != nil {
		return nil, fmt.Errorf("resolve %s in rootfs: %w", unsafePath, err)
	}
	return t, nil
}

// walkEntry is one step of the resolved path, as an open directory entry.
type walkEntry struct {
	file *os.File
	name string
}

func walk(root *os.File, unsafePath string, opts resolveOptions) (_ *target, retErr error) {
	// stack[0] is root and belongs to the caller; the rest are ours.
	stack := []walkEntry{{file: root}}
	pop := func() {
		stack[len(stack)-1].file.Close()
		stack = stack[:len(stack)-1]
	}
	defer func() {
		if retErr != nil {
			for len(stack) > 1 {
				pop()
			}
		}
	}()

	// No lexical cleaning: ".." is applied to the path as resolved so far,
	// after symlinks, as the kernel would (and as RESOLVE_IN_ROOT does).
	pending := splitComponents(unsafePath)
	links, retries := 0, 0
	for len(pending) > 0 {
		name := pending[0]
		pending = pending[1:]
		last := len(pending) == 0
		if name == ".." {
			if len(stack) > 1 {
				pop()
			}
			continue
		}
		dir := stack[len(stack)-1].file
		entry, err := openEntry(dir, name)
		if errors.Is(err, unix.ENOENT) {
			if opts.create == createNothing {
				return nil, err
			}
			if last && opts.create == createParents {
				return finalTarget(stack, name, nil)
			}
			if retries++; retries > maxCreateRetries {
				return nil, fmt.Errorf("%s keeps disappearing: %w", name, err)
			}
			if err := createEntry(dir, name, last && opts.create == createFile); err != nil {
				return nil, err
			}
			pending = append([]string{name}, pending...)
			continue
		}
		if err != nil {
			return nil, err
		}
		mode, err := fileMode(entry)
		if err != nil {
			entry.Close()
			return nil, err
		}
		if mode == unix.S_IFLNK && last && opts.final == keepSymlink {
			stack = append(stack, walkEntry{file: entry, name: name})
			continue
		}
		if mode == unix.S_IFLNK {
			if last && opts.final == refuseSymlink {
				entry.Close()
				return nil, fmt.Errorf("%s is a symlink, refusing to follow it", name)
			}
			dest, err := readlinkFd(entry)
			entry.Close()
			if err != nil {
				return nil, err
			}
			if links++; links > maxSymlinks {
				return nil, &os.PathError{Op: "resolve", Path: name, Err: unix.ELOOP}
			}
			if strings.HasPrefix(dest, "/") {
				for len(stack) > 1 {
					pop()
				}
			}
			pending = append(splitComponents(dest), pending...)
			continue
		}
		if !last && mode != unix.S_IFDIR {
			entry.Close()
			return nil, &os.PathError{Op: "resolve", Path: name, Err: unix.ENOTDIR}
		}
		stack = append(stack, walkEntry{file: entry, name: name})
	}
	if len(stack) == 1 {
		return nil, errors.New("path resolves to the container's root directory")
	}
	top := stack[len(stack)-1]
	stack = stack[:len(stack)-1]
	return finalTarget(stack, top.name, top.file)
}

// finalTarget turns the walk's stack (root first, the target's directory
// last) into a target and closes the intermediate directories. The
// directory is duplicated when it is the caller's root.
func finalTarget(stack []walkEntry, name string, file *os.File) (*target, error) {
	if len(stack) == 1 {
		dir, err := dupFile(stack[0].file)
		if err != nil {
			if file != nil {
				file.Close()
			}
			return nil, err
		}
		return &target{dir: dir, name: name, file: file}, nil
	}
	for _, e := range stack[1 : len(stack)-1] {
		e.file.Close()
	}
	return &target{dir: stack[len(stack)-1].file, name: name, file: file}, nil
}

func readlinkFd(f *os.File) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(int(f.Fd()), "", buf)
	if err != nil {
		return "", &os.PathError{Op: "readlinkat", Path: f.Name(), Err: err}
	}
	return string(buf[:n]), nil
}

// createEntry makes a missing directory, or an empty file, in dir. EEXIST is
// not an error: someone else created it first and the walk looks again.
func createEntry(dir *os.File, name string, asFile bool) error {
	if !asFile {
		err := unix.Mkdirat(int(dir.Fd()), name, 0o755)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return &os.PathError{Op: "mkdirat", Path: name, Err: err}
		}
		return nil
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		if errors.Is(err, unix.EEXIST) {
			return nil
		}
		return &os.PathError{Op: "create", Path: name, Err: err}
	}
	return unix.Close(fd)
}
