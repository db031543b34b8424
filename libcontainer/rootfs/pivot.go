package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Enter makes cfg.Rootfs (prepared by Prepare) the root of the calling
// process: pivot_root(2), or with cfg.NoPivotRoot an MS_MOVE onto "/" and a
// chroot(2) (for roots pivot_root cannot leave, such as an initramfs). The
// working directory ends up at the new "/". cfg.RootPropagation, if set, is
// then applied to the new "/", as runc does.
func Enter(cfg *configs.Config) error {
	var err error
	if cfg.NoPivotRoot {
		err = moveRoot(cfg.Rootfs)
	} else {
		err = pivotRoot(cfg.Rootfs)
	}
	if err != nil {
		return err
	}
	if cfg.RootPropagation != 0 {
		if err := unix.Mount("", "/", "", cfg.RootPropagation, ""); err != nil {
			return fmt.Errorf("set propagation %#x of the new /: %w", cfg.RootPropagation, err)
		}
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir to the new /: %w", err)
	}
	return nil
}

// pivotRoot uses pivot_root(".", "."), which needs no directory for the old
// root inside the new one: the old root ends up stacked on top of the new
// one, is reached through a descriptor and lazily unmounted.
func pivotRoot(rootfs string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open old root", Path: "/", Err: err}
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open rootfs", Path: rootfs, Err: err}
	}
	defer unix.Close(newRoot)

	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w", rootfs, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir to the old root: %w", err)
	}
	// Make the old root a slave before detaching it, or the unmount would
	// propagate to the host if the old root is shared with it.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make the old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the old root: %w", err)
	}
	return nil
}

// moveRoot moves the rootfs mount over "/" and chroots into it. The old
// root's mounts stay in the namespace, hidden below the new root; the full
// procfs and sysfs mounts among them are detached (or covered) first, since
// a chroot can be escaped and the kernel allows new procfs/sysfs mounts in a
// namespace that has full ones.
func moveRoot(rootfs string) error {
	if err := hideHostProcAndSys(rootfs); err != nil {
		return err
	}
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("chdir to rootfs %s: %w", rootfs, err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs %s onto /: %w", rootfs, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot into %s: %w", rootfs, err)
	}
	return nil
}

func hideHostProcAndSys(rootfs string) error {
	// thread-self: the calling thread's mount namespace may not be that
	// of its whole process.
	f, err := os.Open("/proc/thread-self/mountinfo")
	if err != nil {
		return fmt.Errorf("list host mounts: %w", err)
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, func(info *mountinfo.Info) (skip, stop bool) {
		full := info.Root == "/" && (info.FSType == "proc" || info.FSType == "sysfs")
		inRootfs := info.Mountpoint == rootfs || strings.HasPrefix(info.Mountpoint, rootfs+"/")
		return !full || inRootfs, false
	})
	if err != nil {
		return fmt.Errorf("list host mounts: %w", err)
	}
	for _, m := range mounts {
		err := unix.Mount("", m.Mountpoint, "", unix.MS_SLAVE|unix.MS_REC, "")
		if errors.Is(err, unix.ENOENT) {
			continue // a parent was detached already
		}
		if err != nil {
			return fmt.Errorf("make %s rslave: %w", m.Mountpoint, err)
		}
		err = unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.EPERM) {
			// Locked in a user namespace: cover it instead.
			err = unix.Mount("tmpfs", m.Mountpoint, "tmpfs", unix.MS_RDONLY, "")
		}
		if err != nil {
			return fmt.Errorf("hide host %s at %s: %w", m.FSType, m.Mountpoint, err)
		}
	}
	return nil
}
