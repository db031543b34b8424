package libcontainer

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sealedSelf returns an O_PATH fd of this executable that the container can
// never write through (CVE-2019-5736): the container's init runs from it,
// so /proc/<init>/exe points at the sealed file, not at the host binary.
//
// The cheap way is a private, detached, read-only overlayfs whose lower
// layer is the binary's directory: no copy, a few syscalls, and writes fail
// with EROFS. Where overlayfs is unavailable, fall back to a sealed memfd
// copy of the binary (costs one copy of the file).
func sealedSelf() (*os.File, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("seal binary: find executable: %w", err)
	}
	f, overlayErr := overlaySealed(exe)
	if overlayErr == nil {
		return f, nil
	}
	// The copy is made from /proc/self/exe, the file this process runs
	// from, even if the path now names another (upgraded) binary.
	f, err = memfdSealed("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("seal binary %s: overlay: %v; memfd: %w", exe, overlayErr, err)
	}
	return f, nil
}

func overlaySealed(exe string) (*os.File, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	// Without an upper layer overlayfs wants two lower layers, which must
	// not be the same directory: the second is an empty, detached tmpfs.
	empty, err := emptyDetachedDir()
	if err != nil {
		return nil, err
	}
	defer unix.Close(empty)
	emptyPath := fmt.Sprintf("/proc/self/fd/%d", empty)
	for _, kv := range [][2]string{{"lowerdir+", filepath.Dir(exe)}, {"lowerdir+", emptyPath}, {"xino", "off"}} {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return nil, fmt.Errorf("fsconfig overlay %s=%s: %w", kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("fsconfig overlay create: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay: %w", err)
	}
	defer unix.Close(mfd)
	fd, err := unix.Openat(mfd, filepath.Base(exe), unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s in overlay: %w", filepath.Base(exe), err)
	}
	return os.NewFile(uintptr(fd), exe), nil
}

// emptyDetachedDir returns the root of a new, empty, read-only tmpfs that
// is mounted nowhere.
func emptyDetachedDir() (int, error) {
	fsfd, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fsfd)
	if err := unix.FsconfigSetString(fsfd, "size", "4k"); err != nil {
		return -1, fmt.Errorf("fsconfig tmpfs: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig tmpfs create: %w", err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return -1, fmt.Errorf("fsmount tmpfs: %w", err)
	}
	return fd, nil
}

func memfdSealed(exe string) (*os.File, error) {
	src, err := os.Open(exe)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("husk", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "husk-memfd")
	if _, err := io.Copy(mem, src); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copy to memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		mem.Close()
		return nil, fmt.Errorf("seal memfd: %w", err)
	}
	return mem, nil
}
