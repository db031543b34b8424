package rootfs

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/procfs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// defaultRootPropagation is applied to "/" when the config sets none: mounts
// from the host still show up, but nothing done here goes back to it.
const defaultRootPropagation = unix.MS_SLAVE | unix.MS_REC

// Prepare builds the container's filesystem under cfg.Rootfs, before the
// pivot: it sets the propagation of "/", makes cfg.Rootfs a mount point,
// mounts cfg.Mounts in order and, unless /dev is bind-mounted from
// elsewhere, creates the device nodes and /dev symlinks. The calling thread
// must be in the container's mount namespace, with a file system context
// (root, cwd) of its own.
func Prepare(cfg *configs.Config, opts Options) error {
	proc := opts.Proc
	if !filepath.IsAbs(cfg.Rootfs) {
		return fmt.Errorf("rootfs %q is not an absolute path", cfg.Rootfs)
	}
	propagation := cfg.RootPropagation
	if propagation == 0 || propagation&unix.MS_UNBINDABLE != 0 {
		// An unbindable "/" would refuse the bind of the rootfs below;
		// Enter applies the configured propagation to the new root.
		propagation = defaultRootPropagation
	}
	if err := unix.Mount("", "/", "", propagation, ""); err != nil {
		return fmt.Errorf("set propagation %#x of /: %w", propagation, err)
	}
	if err := makeParentMountPrivate(cfg.Rootfs, proc); err != nil {
		return err
	}
	if err := unix.Mount(cfg.Rootfs, cfg.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", cfg.Rootfs, err)
	}
	rootFd, err := unix.Open(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open rootfs", Path: cfg.Rootfs, Err: err}
	}
	root := os.NewFile(uintptr(rootFd), cfg.Rootfs)
	defer root.Close()

	mt := &mounter{root: root, proc: proc, opts: opts}
	if mt.opts.MountFS == nil {
		mt.opts.MountFS = mt.mountHere
	}
	for i := range cfg.Mounts {
		m := &cfg.Mounts[i]
		if err := mt.mountOne(m); err != nil {
			what := m.Type
			if m.IsBind() {
				what = m.Source
			}
			return fmt.Errorf("mount %s on %s: %w", what, m.Destination, err)
		}
	}
	if needsDevSetup(cfg) {
		if err := mt.setupDev(cfg); err != nil {
			return fmt.Errorf("set up /dev: %w", err)
		}
	}
	return createCwd(root, cfg)
}

// createCwd makes process.cwd when the image lacks it, as runc does. It is
// resolved and created inside the root by descriptor, before pivot_root:
// a path walk after it would follow /proc magic links (an image symlink
// to /proc/<pid>/root/...) out of the container.
func createCwd(root *os.File, cfg *configs.Config) error {
	if cfg.Process == nil || path.Clean("/"+cfg.Process.Cwd) == "/" {
		return nil
	}
	t, err := resolveInRoot(root, cfg.Process.Cwd, resolveOptions{create: createDir})
	if err != nil {
		return fmt.Errorf("process.cwd %s: %w", cfg.Process.Cwd, err)
	}
	t.Close()
	return nil
}

// makeParentMountPrivate makes the mount that holds rootfs private if it is
// shared: pivot_root refuses a shared parent, and binding rootfs onto itself
// under a shared mount would propagate that bind to the host.
func makeParentMountPrivate(rootfs string, proc *procfs.Handle) error {
	// thread-self: the caller may be a thread that joined the container's
	// mount namespace while the rest of its process did not.
	f, err := proc.Open("thread-self/mountinfo", unix.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, mountinfo.ParentsFilter(rootfs))
	if err != nil {
		return fmt.Errorf("read /proc/thread-self/mountinfo: %w", err)
	}
	var parent *mountinfo.Info
	for _, m := range mounts {
		// The longest mount point wins; of equal ones the later, which is
		// mounted on top.
		if parent == nil || len(m.Mountpoint) >= len(parent.Mountpoint) {
			parent = m
		}
	}
	if parent == nil || !strings.Contains(parent.Optional, "shared:") {
		return nil
	}
	if err := unix.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s (parent mount of the rootfs) private: %w", parent.Mountpoint, err)
	}
	return nil
}

// PrepareChroot is Prepare for a container without a mount namespace of its
// own: nothing may be mounted, only process.cwd is made inside the rootfs
// (the init then chroots into it).
func PrepareChroot(cfg *configs.Config, opts Options) error {
	rootFd, err := unix.Open(cfg.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open rootfs", Path: cfg.Rootfs, Err: err}
	}
	root := os.NewFile(uintptr(rootFd), cfg.Rootfs)
	defer root.Close()
	return createCwd(root, cfg)
}
