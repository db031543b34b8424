package rootfs

import (
	"errors"
	"fmt"
	"os"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

// The device number of /dev/null.
const devNullMajor, devNullMinor = 1, 3

// Finish completes the filesystem after Enter, from inside the new root:
// it masks cfg.MaskedPaths, makes cfg.ReadonlyPaths read-only and, with
// cfg.ReadonlyRootfs, remounts "/" read-only. Paths that do not exist are
// skipped. Every mount here is made from and onto descriptors (open_tree,
// move_mount, mount_setattr), so nothing is resolved through the
// container's /proc; proc is accepted for symmetry with Prepare and is not
// used.
func Finish(cfg *configs.Config, proc *procfs.Handle) error {
	rootFd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: "/", Err: err}
	}
	root := os.NewFile(uintptr(rootFd), "/")
	defer root.Close()

	// Read-only paths first, then masks: runc's order.
	for _, p := range cfg.ReadonlyPaths {
		if err := makeReadonly(root, p); err != nil {
			return fmt.Errorf("readonly path %s: %w", p, err)
		}
	}
	for _, p := range cfg.MaskedPaths {
		if err := maskPath(root, p); err != nil {
			return fmt.Errorf("masked path %s: %w", p, err)
		}
	}
	if cfg.ReadonlyRootfs {
		if err := remount("/", rootFd, unix.MS_RDONLY, 0); err != nil {
			return fmt.Errorf("readonly rootfs: %w", err)
		}
	}
	return nil
}

// resolveExisting resolves p in root, following symlinks inside root; a
// path that does not exist gives (nil, nil).
func resolveExisting(root *os.File, p string) (*target, error) {
	t, err := resolveInRoot(root, p, resolveOptions{create: createNothing})
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	return t, err
}

// maskPath hides p: a directory gets an empty read-only tmpfs over it, any
// other file the container's /dev/null.
func maskPath(root *os.File, p string) error {
	t, err := resolveExisting(root, p)
	if t == nil || err != nil {
		return err
	}
	defer t.Close()
	mode, err := fileMode(t.file)
	if err != nil {
		return err
	}
	var mnt int
	if mode == unix.S_IFDIR {
		mnt, err = newReadonlyTmpfs()
	} else {
		mnt, err = cloneDevNull(root)
	}
	if err != nil {
		return err
	}
	defer unix.Close(mnt)
	return moveMountOnto(mnt, t.file)
}

// newReadonlyTmpfs returns a detached, empty, read-only tmpfs mount.
func newReadonlyTmpfs() (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetFlag(fsfd, "ro"); err != nil {
		return -1, fmt.Errorf("fsconfig tmpfs ro: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig create tmpfs: %w", err)
	}
	attrs := unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return mnt, nil
}

// cloneDevNull returns a detached bind mount of the container's /dev/null.
// /dev/null is opened without following a final symlink and must be the
// 1:3 character device: a /dev/null replaced by a symlink to, say,
// /proc/sys/kernel/core_pattern would otherwise turn masking into
// bind-mounting a writable host knob over the masked file (CVE-2025-31133).
func cloneDevNull(root *os.File) (int, error) {
	t, err := resolveInRoot(root, "/dev/null", resolveOptions{create: createNothing, final: refuseSymlink})
	if err != nil {
		return -1, err
	}
	defer t.Close()
	rdev := int(unix.Mkdev(devNullMajor, devNullMinor))
	if err := checkDeviceNode(t.file, unix.S_IFCHR, rdev); err != nil {
		return -1, fmt.Errorf("refusing to mask with /dev/null: %w", err)
	}
	mnt, err := unix.OpenTree(fd(t.file), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return -1, fmt.Errorf("open_tree /dev/null: %w", err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH, attr); err != nil {
		unix.Close(mnt)
		return -1, fmt.Errorf("mount_setattr /dev/null bind: %w", err)
	}
	return mnt, nil
}

// makeReadonly binds p onto itself, recursively, read-only, nosuid, nodev
// and noexec (as runc). The attributes are set on the detached copy before
// it is attached, so the path is never visible writable through it.
func makeReadonly(root *os.File, p string) error {
	t, err := resolveExisting(root, p)
	if t == nil || err != nil {
		return err
	}
	defer t.Close()
	mnt, err := unix.OpenTree(fd(t.file), "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(mnt)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC}
	if err := unix.MountSetattr(mnt, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	return moveMountOnto(mnt, t.file)
}

// moveMountOnto attaches the detached mount mnt on top of dst.
func moveMountOnto(mnt int, dst *os.File) error {
	err := unix.MoveMount(mnt, "", fd(dst), "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}
