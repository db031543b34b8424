package procfs

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procRootIno is the inode number of the root directory of every procfs
// instance (PROC_ROOT_INO in the kernel).
const procRootIno = 1

// Handle is an open, verified procfs root. It is safe to keep across
// pivot_root: it refers to the procfs by file descriptor, not by path.
type Handle struct {
	root *os.File
}

// Open returns a Handle on the most private procfs available, trying in turn:
//
//  1. a new procfs instance made with fsopen/fsmount, left detached so that
//     nothing can be mounted on top of its files. This needs CAP_SYS_ADMIN
//     over the caller's pid namespace, which the container init has as pid 1
//     of a new pid namespace;
//  2. a non-recursive clone of /proc (open_tree OPEN_TREE_CLONE): a
//     detached copy without whatever is mounted below /proc;
//  3. /proc itself, opened O_PATH.
//
// Each candidate must be the root directory of a procfs, or it is rejected.
// The descriptor is close-on-exec.
func Open() (*Handle, error) {
	openers := []struct {
		name string
		open func() (int, error)
	}{
		{"new detached procfs", openNewInstance},
		{"clone of /proc", openClone},
		{"/proc", openHostProc},
	}
	var errs []error
	for _, opener := range openers {
		fd, err := opener.open()
		if err == nil {
			err = verifyProcRoot(fd)
			if err == nil {
				return &Handle{root: os.NewFile(uintptr(fd), "procfs")}, nil
			}
			unix.Close(fd)
		}
		errs = append(errs, fmt.Errorf("%s: %w", opener.name, err))
	}
	return nil, fmt.Errorf("open procfs: %w", errors.Join(errs...))
}

// OpenOwn returns a Handle on the procfs mounted at /proc in the caller's
// mount namespace: for a caller whose mount namespace nobody else
// controls, such as the runtime before it joins a container's. Opened
// then, the Handle keeps referring to that trusted instance after the
// caller joins the container's mount namespace.
//
// It must be a procfs root, of the caller's pid namespace ("self" names
// the caller: /proc may belong to an outer pid namespace, whose
// /proc/<pid> are other processes), and writable (a read-only /proc would
// refuse oom_score_adj). Otherwise it fails, and the caller should use
// Open.
//
// It costs one open and a readlink where Open makes and later dissolves a
// procfs instance (≈ 0.3 ms of a `husk run`: the superblock, and an RCU
// grace period when the detached mount is closed).
func OpenOwn() (*Handle, error) {
	fd, err := openHostProc()
	if err == nil {
		err = verifyOwnProc(fd)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open procfs: /proc: %w", err)
	}
	return &Handle{root: os.NewFile(uintptr(fd), "procfs")}, nil
}

// CheckSelf fails unless the handle's procfs numbers processes as the
// caller's pid namespace does ("self" is the caller), so that <pid> paths
// through it name the processes the caller means.
func (h *Handle) CheckSelf() error {
	return checkSelf(int(h.root.Fd()))
}

func checkSelf(fd int) error {
	buf := make([]byte, 32)
	n, err := unix.Readlinkat(fd, "self", buf)
	if err != nil {
		return fmt.Errorf("readlink self: %w (a procfs of another pid namespace?)", err)
	}
	if self := string(buf[:n]); self != strconv.Itoa(os.Getpid()) {
		return fmt.Errorf("self is %s, not %d: a procfs of another pid namespace", self, os.Getpid())
	}
	return nil
}

// verifyOwnProc checks the conditions of OpenOwn on an open /proc.
func verifyOwnProc(fd int) error {
	if err := verifyProcRoot(fd); err != nil {
		return err
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if fs.Flags&unix.ST_RDONLY != 0 {
		return errors.New("mounted read-only")
	}
	return checkSelf(fd)
}

// openNewInstance makes a new procfs superblock for the caller's pid
// namespace and returns it as a detached mount.
func openNewInstance() (int, error) {
	fsfd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create: %w", err)
	}
	attrs := unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount: %w", err)
	}
	return mfd, nil
}

// openClone clones the /proc mount without its submounts, so files mounted
// over parts of /proc are not visible through the clone.
func openClone() (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree: %w", err)
	}
	return fd, nil
}

func openHostProc() (int, error) {
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open: %w", err)
	}
	return fd, nil
}

// verifyProcRoot checks that fd is the root directory of a procfs, so a
// tmpfs or a bind of some procfs subdirectory placed at /proc is refused.
func verifyProcRoot(fd int) error {
	if err := verifyOnProcfs(fd); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Ino != procRootIno || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("not the root of a procfs (inode %d, mode %#o)", st.Ino, st.Mode)
	}
	return nil
}

func verifyOnProcfs(fd int) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on procfs (filesystem type %#x)", fs.Type)
	}
	return nil
}

// Open opens path (relative to the procfs root, e.g. "self/oom_score_adj"
// or "sys/net/ipv4/ip_forward") with the given open(2) flags. The lookup
// must stay below the procfs root, may not cross into another mount and may
// not follow magic links such as self/fd/N or self/exe; the opened file must
// still be on procfs. The file is close-on-exec.
func (h *Handle) Open(path string, flags int) (*os.File, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC | unix.O_NOCTTY),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	var fd int
	var err error
	// openat2 asks callers to retry with EAGAIN when a concurrent rename
	// could have let ".." escape; procfs paths almost never hit this.
	for range 16 {
		fd, err = unix.Openat2(int(h.root.Fd()), path, how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "openat2", Path: "/proc/" + path, Err: err}
	}
	if err := verifyOnProcfs(fd); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "open", Path: "/proc/" + path, Err: err}
	}
	return os.NewFile(uintptr(fd), "/proc/"+path), nil
}

// WriteFile writes data to the procfs file at path (see Open for how path is
// resolved), in a single write(2) as procfs files expect.
func (h *Handle) WriteFile(path string, data []byte) error {
	f, err := h.Open(path, unix.O_WRONLY)
	if err != nil {
		return err
	}
	n, err := f.Write(data)
	if err == nil && n != len(data) {
		err = fmt.Errorf("short write (%d of %d bytes)", n, len(data))
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("write /proc/%s: %w", path, err)
	}
	return nil
}

// FdPath returns a path that mount(2), open(2), chmod(2) etc. resolve to
// the file open as descriptor fd of the calling process, for syscalls that
// only take paths.
//
// The path is /proc/self/fd/<handle>/thread-self/fd/<fd>: only its first
// part, /proc/self/fd/<handle>, is looked up through the caller's current
// root; it is a magic link to this Handle's procfs, and thread-self/fd/<fd>
// is then looked up inside that instance, where the container cannot mount
// anything (a private instance from Open, or the runtime's own /proc from
// OpenOwn, whose mount the container cannot reach). The first part still
// depends on the caller's /proc:
// use FdPath before pivot_root (while "/" is the host's root) and prefer
// descriptor-based syscalls (open_tree, move_mount, mount_setattr) after it.
//
// The path is valid only while h is open.
func (h *Handle) FdPath(fd int) string {
	return fmt.Sprintf("/proc/self/fd/%d/thread-self/fd/%d", h.root.Fd(), fd)
}

// Reopen opens the file behind descriptor fd of the calling process anew,
// with flags (e.g. an O_PATH fd reopened for writing). It resolves
// thread-self/fd/<fd> relative to the handle's own procfs, so it works
// whatever the caller's root and /proc are, before or after pivot_root.
func (h *Handle) Reopen(fd int, flags int) (*os.File, error) {
	name := fmt.Sprintf("thread-self/fd/%d", fd)
	newFd, err := unix.Openat(int(h.root.Fd()), name, flags|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopen fd %d: %w", fd, err)
	}
	return os.NewFile(uintptr(newFd), name), nil
}

// NamespaceInode returns the inode number of the calling thread's
// namespace of the given kind ("cgroup", "net", ...), read through the
// handle's own procfs.
func (h *Handle) NamespaceInode(kind string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(int(h.root.Fd()), "thread-self/ns/"+kind, &st, 0); err != nil {
		return 0, fmt.Errorf("stat %s namespace: %w", kind, err)
	}
	return st.Ino, nil
}

// Close releases the procfs handle.
func (h *Handle) Close() error {
	return h.root.Close()
}
