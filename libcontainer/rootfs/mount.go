package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

const (
	propagationFlags = unix.MS_SHARED | unix.MS_SLAVE | unix.MS_PRIVATE | unix.MS_UNBINDABLE
	atimeFlags       = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	// lockableFlags are the per-mount flags the kernel locks on mounts
	// inherited by a less privileged mount namespace: they can be set but
	// not cleared there.
	lockableFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | atimeFlags
	// stNoSymfollow is statfs's ST_NOSYMFOLLOW, missing from x/sys/unix.
	stNoSymfollow = 0x2000
)

// mounter mounts the config's mounts into one rootfs.
type mounter struct {
	root *os.File // the rootfs, O_PATH
	proc *procfs.Handle
	opts Options
}

// mountHere is the default Options.MountFS: mount(2) by this process.
func (mt *mounter) mountHere(source, fstype string, flags uintptr, data string, target *os.File) error {
	return unix.Mount(source, mt.proc.FdPath(fd(target)), fstype, flags, data)
}

func fd(f *os.File) int { return int(f.Fd()) }

// mountOne mounts m into the rootfs.
func (mt *mounter) mountOne(m *configs.Mount) error {
	switch {
	case m.IsBind():
		return mt.bindMount(m)
	case m.Type == "cgroup" || m.Type == "cgroup2":
		return mt.mountCgroup(m)
	default:
		return mt.mountFilesystem(m)
	}
}

// mustBeDirectory reports whether m's destination must be a real directory
// and not a symlink: mounting procfs or sysfs through a symlink planted in
// the image is how CVE-2019-19921 escaped; /dev gets the same treatment
// because devices are created in it.
func mustBeDirectory(m *configs.Mount) bool {
	switch path.Clean("/" + m.Destination) {
	case "/proc", "/sys", "/dev":
		return true
	}
	return m.Type == "proc" || m.Type == "sysfs"
}

// resolveDestination finds (creating it if needed) m's destination inside
// the rootfs.
func (mt *mounter) resolveDestination(m *configs.Mount, create createMode) (*target, error) {
	opts := resolveOptions{create: create}
	strict := mustBeDirectory(m)
	if strict {
		opts.final = refuseSymlink
	}
	t, err := resolveInRoot(mt.root, m.Destination, opts)
	if err != nil {
		return nil, err
	}
	if strict {
		mode, err := fileMode(t.file)
		if err == nil && mode != unix.S_IFDIR {
			err = fmt.Errorf("%s must be a directory (mode %#o)", m.Destination, mode)
		}
		if err != nil {
			t.Close()
			return nil, err
		}
	}
	return t, nil
}

func (mt *mounter) bindMount(m *configs.Mount) error {
	srcFd, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open bind source", Path: m.Source, Err: err}
	}
	src := os.NewFile(uintptr(srcFd), m.Source)
	defer src.Close()
	mode, err := fileMode(src)
	if err != nil {
		return err
	}
	create := createFile
	if mode == unix.S_IFDIR {
		create = createDir
	}
	t, err := mt.resolveDestination(m, create)
	if err != nil {
		return err
	}
	defer t.Close()
	return mt.bindOnto(t, src, m)
}

// bindOnto bind-mounts src onto the resolved target t, then applies m's
// flags, recursive attributes and propagation to the new mount.
func (mt *mounter) bindOnto(t *target, src *os.File, m *configs.Mount) error {
	flags := unix.MS_BIND | m.Flags&unix.MS_REC
	if err := unix.Mount(mt.proc.FdPath(fd(src)), mt.proc.FdPath(fd(t.file)), "", flags, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	mnt, err := mountedAt(t)
	if err != nil {
		return err
	}
	defer mnt.Close()
	if err := sameInode(mnt, src); err != nil {
		return err
	}
	// The initial MS_BIND ignores every other flag: a second, remounting
	// call applies them. Skipped when the user asked for no flag at all, so
	// the bind keeps the source's flags.
	if m.Flags&^(unix.MS_BIND|unix.MS_REC|unix.MS_REMOUNT|propagationFlags) != 0 || m.ClearFlags != 0 {
		if err := mt.remountBind(mnt, m.Flags, m.ClearFlags); err != nil {
			return err
		}
	}
	return mt.applyAttributes(mnt, m)
}

func (mt *mounter) mountFilesystem(m *configs.Mount) error {
	t, err := mt.resolveDestination(m, createDir)
	if err != nil {
		return err
	}
	defer t.Close()
	err = mt.mountOnto(t, m)
	if m.Type == "sysfs" && errors.Is(err, unix.EPERM) {
		// A user namespace may only mount sysfs together with a network
		// namespace it owns; like runc, fall back to the host's /sys.
		return mt.bindHostDir(t, "/sys", m)
	}
	return err
}

// mountOnto mounts a new filesystem as m describes onto the resolved target
// t. The error of mount(2) itself is returned as is, for callers that fall
// back to something else.
func (mt *mounter) mountOnto(t *target, m *configs.Mount) error {
	if err := mt.opts.MountFS(m.Source, m.Type, m.Flags&^propagationFlags, m.Data, t.file); err != nil {
		return err
	}
	if m.RecAttrSet == 0 && m.RecAttrClr == 0 && len(m.PropagationFlags) == 0 {
		return nil
	}
	mnt, err := mountedAt(t)
	if err != nil {
		return err
	}
	defer mnt.Close()
	return mt.applyAttributes(mnt, m)
}

// bindHostDir replaces a filesystem mount that the kernel refused by a
// recursive bind of the host's hostDir, with the same flags; a read-only
// request covers the submounts too.
func (mt *mounter) bindHostDir(t *target, hostDir string, m *configs.Mount) error {
	srcFd, err := unix.Open(hostDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: hostDir, Err: err}
	}
	src := os.NewFile(uintptr(srcFd), hostDir)
	defer src.Close()
	bind := *m
	bind.Source = hostDir
	bind.Type = "bind"
	bind.Flags |= unix.MS_BIND | unix.MS_REC
	if m.Flags&unix.MS_RDONLY != 0 {
		bind.RecAttrSet |= unix.MOUNT_ATTR_RDONLY
	}
	if err := mt.bindOnto(t, src, &bind); err != nil {
		return fmt.Errorf("%s refused, falling back to a bind of %s: %w", m.Type, hostDir, err)
	}
	return nil
}

// mountedAt returns the root of the mount just made onto t. It looks t up
// again (t.file still refers to the covered directory) and checks that what
// it finds is the root of a mount other than the one t.file is on, so the
// target cannot have been swapped for something else in between.
func mountedAt(t *target) (*os.File, error) {
	covered, _, err := mountOf(t.file)
	if err != nil {
		return nil, err
	}
	mnt, err := t.reopen()
	if err != nil {
		return nil, fmt.Errorf("reopen after mount: %w", err)
	}
	id, isRoot, err := mountOf(mnt)
	if err == nil && (!isRoot || id == covered) {
		err = fmt.Errorf("no new mount at %s after mounting: the target was replaced", t.name)
	}
	if err != nil {
		mnt.Close()
		return nil, err
	}
	return mnt, nil
}

// mountOf returns the mount ID of f and whether f is the root of that mount.
func mountOf(f *os.File) (id uint64, isRoot bool, err error) {
	var stx unix.Statx_t
	err = unix.Statx(fd(f), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx)
	if err != nil {
		return 0, false, fmt.Errorf("statx %s: %w", f.Name(), err)
	}
	return stx.Mnt_id, stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}

func sameInode(a, b *os.File) error {
	var sa, sb unix.Stat_t
	if err := unix.Fstat(fd(a), &sa); err != nil {
		return fmt.Errorf("fstat %s: %w", a.Name(), err)
	}
	if err := unix.Fstat(fd(b), &sb); err != nil {
		return fmt.Errorf("fstat %s: %w", b.Name(), err)
	}
	if sa.Dev != sb.Dev || sa.Ino != sb.Ino {
		return fmt.Errorf("mounted %s is not the bind source %s", a.Name(), b.Name())
	}
	return nil
}

// remountBind sets the per-mount flags of the bind mount mnt to flags
// (MS_BIND|MS_REMOUNT semantics: flags not given are cleared). If the kernel
// refuses because the mount has locked flags (it came from a more privileged
// mount namespace), it retries keeping the mount's current flags, unless
// the user explicitly asked to clear one of them (clearFlags).
func (mt *mounter) remountBind(mnt *os.File, flags, clearFlags uintptr) error {
	return remount(mt.proc.FdPath(fd(mnt)), fd(mnt), flags, clearFlags)
}

// remount does the MS_BIND|MS_REMOUNT of the mount at mountPath (whose
// descriptor, for statfs, is mountFd), see remountBind.
func remount(mountPath string, mountFd int, flags, clearFlags uintptr) error {
	flags = flags&^(unix.MS_REC|unix.MS_REMOUNT|propagationFlags) | unix.MS_BIND | unix.MS_REMOUNT
	err := unix.Mount("", mountPath, "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		if err != nil {
			return fmt.Errorf("remount: %w", err)
		}
		return nil
	}
	var st unix.Statfs_t
	if serr := unix.Fstatfs(mountFd, &st); serr != nil {
		return fmt.Errorf("remount: %w (fstatfs: %v)", err, serr)
	}
	current := statfsToMountFlags(uint64(st.Flags))
	if locked := current & clearFlags & lockableFlags; locked != 0 {
		return fmt.Errorf("remount: %w (flags %#x are locked on and cannot be cleared)", err, locked)
	}
	if want := flags & atimeFlags; want != 0 && want != atimeOf(current) {
		return fmt.Errorf("remount: %w (the atime flags of the mount are locked)", err)
	}
	if err := unix.Mount("", mountPath, "", flags|current&^clearFlags, ""); err != nil {
		return fmt.Errorf("remount keeping locked flags: %w", err)
	}
	return nil
}

// statfsToMountFlags converts statfs f_flags (ST_*) to the MS_* flags that
// set them.
func statfsToMountFlags(stFlags uint64) uintptr {
	conversions := []struct {
		st uint64
		ms uintptr
	}{
		{unix.ST_RDONLY, unix.MS_RDONLY},
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
		{stNoSymfollow, unix.MS_NOSYMFOLLOW},
	}
	var flags uintptr
	for _, c := range conversions {
		if stFlags&c.st != 0 {
			flags |= c.ms
		}
	}
	return flags
}

// atimeOf returns the atime flag a mount with flags has; a mount with
// neither noatime nor relatime is strictatime.
func atimeOf(flags uintptr) uintptr {
	if a := flags & (unix.MS_NOATIME | unix.MS_RELATIME); a != 0 {
		return a
	}
	return unix.MS_STRICTATIME
}

// applyAttributes applies the recursive mount attributes ("rro", ...) and
// then the propagation changes of m to the mount mnt.
func (mt *mounter) applyAttributes(mnt *os.File, m *configs.Mount) error {
	if m.RecAttrSet != 0 || m.RecAttrClr != 0 {
		attr := &unix.MountAttr{Attr_set: m.RecAttrSet, Attr_clr: m.RecAttrClr}
		if err := unix.MountSetattr(fd(mnt), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("mount_setattr (set %#x, clear %#x): %w", m.RecAttrSet, m.RecAttrClr, err)
		}
	}
	for _, p := range m.PropagationFlags {
		if err := unix.Mount("", mt.proc.FdPath(fd(mnt)), "", p, ""); err != nil {
			return fmt.Errorf("set propagation %#x: %w", p, err)
		}
	}
	return nil
}
