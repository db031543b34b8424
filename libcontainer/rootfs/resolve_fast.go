package rootfs

import (
	"errors"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// resolveFast is resolveInRoot's fast path for the common case: every
// component exists and the last one is not a symlink to follow. The
// directory is resolved by one openat2(RESOLVE_IN_ROOT), which the kernel
// scopes exactly as walk does (absolute symlinks restart at root, ".."
// stops there), and the last component is opened with O_NOFOLLOW from it:
// two lookups where walk makes an openat, an fstat and an fcntl per
// component (≈ 200 syscalls of a `husk run`, docs/performance.md).
//
// Anything else returns ok == false and walk decides, so that creation,
// symlink handling and every error keep walk's behaviour and messages: a
// missing component, a final symlink to follow or refuse, a magic link
// (RESOLVE_NO_MAGICLINKS: walk reads their text instead), a kernel
// without openat2, or a rename race (EAGAIN, EXDEV).
func resolveFast(root *os.File, unsafePath string, opts resolveOptions) (t *target, ok bool) {
	dirPath, name := splitLastComponent(unsafePath)
	if name == "" || name == "." || name == ".." {
		return nil, false
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	dirFd, err := unix.Openat2(fd(root), dirPath, &how)
	if err != nil {
		return nil, false
	}
	entryFd, err := unix.Openat(dirFd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	dirName := path.Base(dirPath) // as walk names it: its last component
	if dirPath == "." {
		dirName = root.Name()
	}
	if errors.Is(err, unix.ENOENT) && opts.create == createParents {
		return &target{dir: os.NewFile(uintptr(dirFd), dirName), name: name}, true
	}
	if err != nil {
		unix.Close(dirFd)
		return nil, false
	}
	var st unix.Stat_t
	if err := unix.Fstat(entryFd, &st); err != nil ||
		(st.Mode&unix.S_IFMT == unix.S_IFLNK && opts.final != keepSymlink) {
		unix.Close(entryFd)
		unix.Close(dirFd)
		return nil, false
	}
	return &target{
		dir:  os.NewFile(uintptr(dirFd), dirName),
		name: name,
		file: os.NewFile(uintptr(entryFd), name),
	}, true
}

// splitLastComponent splits p into the path of its directory ("." for
// none) and its last component, ignoring trailing slashes and "." entries
// as splitComponents does.
func splitLastComponent(p string) (dir, name string) {
	parts := splitComponents(p)
	if len(parts) == 0 {
		return ".", ""
	}
	name = parts[len(parts)-1]
	if len(parts) == 1 {
		return ".", name
	}
	return strings.Join(parts[:len(parts)-1], "/"), name
}
