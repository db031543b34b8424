package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// defaultDevices are the nodes every container gets in its /dev, like runc.
func defaultDevices() []configs.Device {
	device := func(name string, major, minor int64) configs.Device {
		return configs.Device{Path: "/dev/" + name, Type: 'c', Major: major, Minor: minor, FileMode: 0o666}
	}
	return []configs.Device{
		device("null", 1, 3),
		device("zero", 1, 5),
		device("full", 1, 7),
		device("random", 1, 8),
		device("urandom", 1, 9),
		device("tty", 5, 0),
	}
}

// needsDevSetup reports whether Prepare populates /dev: when the config does
// not mount /dev at all (the image's /dev is used) or mounts a tmpfs there.
// A /dev bind-mounted from elsewhere is left as it is.
func needsDevSetup(cfg *configs.Config) bool {
	devMount := findMount(cfg, "/dev")
	return devMount == nil || (devMount.Type == "tmpfs" && !devMount.IsBind())
}

// findMount returns the last mount of cfg whose destination is dest.
func findMount(cfg *configs.Config, dest string) *configs.Mount {
	var found *configs.Mount
	for i := range cfg.Mounts {
		if path.Clean("/"+cfg.Mounts[i].Destination) == dest {
			found = &cfg.Mounts[i]
		}
	}
	return found
}

// setupDev creates the default devices and cfg.Devices and the usual /dev
// symlinks. /dev itself must be a real directory of the rootfs: an image
// shipping /dev as a symlink is refused, so nothing is ever created through
// it on the host.
func (mt *mounter) setupDev(cfg *configs.Config) error {
	dev, err := resolveInRoot(mt.root, "/dev", resolveOptions{create: createDir, final: refuseSymlink})
	if err != nil {
		return err
	}
	defer dev.Close()
	if mode, err := fileMode(dev.file); err != nil || mode != unix.S_IFDIR {
		return fmt.Errorf("/dev is not a directory (mode %#o, %v)", mode, err)
	}

	devices := defaultDevices()
	for _, d := range cfg.Devices {
		devices = slices.DeleteFunc(devices, func(def configs.Device) bool { return path.Clean(def.Path) == path.Clean(d.Path) })
		devices = append(devices, d)
	}
	// In a user namespace mknod of devices fails with EPERM: from then on
	// the host's nodes are bind-mounted instead, as runc does. Working for
	// a user namespace from outside, bind them from the start.
	bindDevices := mt.opts.BindDevices
	for _, d := range devices {
		if err := mt.createDevice(d, &bindDevices); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	return mt.createDevSymlinks(dev.file, findMount(cfg, "/dev/pts") != nil)
}

func deviceFileType(d configs.Device) (uint32, error) {
	switch d.Type {
	case 'c', 'u':
		return unix.S_IFCHR, nil
	case 'b':
		return unix.S_IFBLK, nil
	case 'p':
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("unknown device type %q", d.Type)
}

// createDevice makes one device node inside the rootfs, replacing whatever
// non-directory the image has at its path (a planted regular file or a
// node with other numbers) unless something is mounted there.
func (mt *mounter) createDevice(d configs.Device, bindDevices *bool) error {
	fileType, err := deviceFileType(d)
	if err != nil {
		return err
	}
	// A symlink planted at the device's path is replaced, never followed.
	t, err := resolveInRoot(mt.root, d.Path, resolveOptions{create: createParents, final: keepSymlink})
	if err != nil {
		return err
	}
	defer t.Close()
	if t.file != nil {
		_, isMountRoot, err := mountOf(t.file)
		if err != nil {
			return err
		}
		if isMountRoot {
			return nil // a config mount put it there on purpose: keep it
		}
		if err := unix.Unlinkat(fd(t.dir), t.name, 0); err != nil {
			return fmt.Errorf("remove existing %s: %w", d.Path, err)
		}
		t.file.Close()
		t.file = nil
	}
	rdev := int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	if !*bindDevices || fileType == unix.S_IFIFO {
		err := unix.Mknodat(fd(t.dir), t.name, fileType|d.FileMode&0o777, rdev)
		if err == nil {
			return mt.fixDeviceOwnership(t, d, fileType, rdev)
		}
		if !errors.Is(err, unix.EPERM) || fileType == unix.S_IFIFO {
			return fmt.Errorf("mknod: %w", err)
		}
		*bindDevices = true
	}
	return mt.bindHostDevice(t, d, fileType, rdev)
}

// fixDeviceOwnership gives the node just created its exact mode (mknod is
// subject to the umask) and owner, checking first that it is the node we
// made and not something swapped in.
func (mt *mounter) fixDeviceOwnership(t *target, d configs.Device, fileType uint32, rdev int) error {
	node, err := openEntry(t.dir, t.name)
	if err != nil {
		return err
	}
	defer node.Close()
	if err := checkDeviceNode(node, fileType, rdev); err != nil {
		return err
	}
	if err := chmodFd(mt, node, d.FileMode&0o777); err != nil {
		return err
	}
	uid, gid, err := mt.opts.hostIDs(d.UID, d.GID)
	if err != nil {
		return err
	}
	if err := unix.Fchownat(fd(node), "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown %d:%d: %w", d.UID, d.GID, err)
	}
	return nil
}

// chmodFd changes the mode of the file open (O_PATH) as f: with
// fchmodat2(AT_EMPTY_PATH) where the kernel has it (6.6), otherwise
// through the procfs handle's path to the fd, which costs a walk through
// two magic links. Any fchmodat2 error falls back: besides ENOSYS on old
// kernels, a seccomp profile older than the syscall may answer EPERM, and
// the path-based chmod reports a real error itself.
func chmodFd(mt *mounter, f *os.File, mode uint32) error {
	first := unix.Fchmodat(fd(f), "", mode, unix.AT_EMPTY_PATH)
	if first == nil {
		return nil
	}
	if err := os.Chmod(mt.proc.FdPath(fd(f)), os.FileMode(mode)); err != nil {
		return fmt.Errorf("chmod %#o: %w (fchmodat2: %v)", mode, err, first)
	}
	return nil
}

// bindHostDevice bind-mounts the host's node at the same path onto an empty
// file. The host node's mode and owner are left alone: chmod or chown
// through the bind would change the host's device.
func (mt *mounter) bindHostDevice(t *target, d configs.Device, fileType uint32, rdev int) error {
	srcFd, err := unix.Open(d.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open host device", Path: d.Path, Err: err}
	}
	src := os.NewFile(uintptr(srcFd), d.Path)
	defer src.Close()
	if err := checkDeviceNode(src, fileType, rdev); err != nil {
		return fmt.Errorf("host %w", err)
	}
	if err := createEntry(t.dir, t.name, true); err != nil {
		return err
	}
	if t.file, err = openEntry(t.dir, t.name); err != nil {
		return err
	}
	if mode, err := fileMode(t.file); err != nil || mode != unix.S_IFREG {
		return fmt.Errorf("bind target is not a regular file (mode %#o, %v)", mode, err)
	}
	bind := configs.Mount{Source: d.Path, Destination: d.Path, Type: "bind", Flags: unix.MS_BIND}
	return mt.bindOnto(t, src, &bind)
}

func checkDeviceNode(f *os.File, fileType uint32, rdev int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd(f), &st); err != nil {
		return fmt.Errorf("fstat %s: %w", f.Name(), err)
	}
	if st.Mode&unix.S_IFMT != fileType || (fileType != unix.S_IFIFO && st.Rdev != uint64(rdev)) {
		return fmt.Errorf("%s is not the expected device (mode %#o, rdev %d:%d)",
			f.Name(), st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	return nil
}

// createDevSymlinks adds /dev/fd, /dev/std{in,out,err}, /dev/core (when
// the kernel has /proc/kcore) and, with a /dev/pts mount, /dev/ptmx
// pointing at the devpts instance's ptmx.
func (mt *mounter) createDevSymlinks(dev *os.File, hasDevpts bool) error {
	links := [][2]string{
		{"/proc/self/fd", "fd"},
		{"/proc/self/fd/0", "stdin"},
		{"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"},
	}
	if kcore, err := mt.proc.Open("kcore", unix.O_PATH); err == nil {
		kcore.Close()
		links = append(links, [2]string{"/proc/kcore", "core"})
	}
	for _, link := range links {
		err := unix.Symlinkat(link[0], fd(dev), link[1])
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", link[1], err)
		}
	}
	if !hasDevpts {
		return nil
	}
	if err := unix.Unlinkat(fd(dev), "ptmx", 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", fd(dev), "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx: %w", err)
	}
	return nil
}
