package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// hostCgroupDir is where the host mounts its cgroup hierarchies. Nothing
// under it is ever mounted on or remounted here: it is only a bind source.
const hostCgroupDir = "/sys/fs/cgroup"

// cgroupMembership is one line of /proc/self/cgroup.
type cgroupMembership struct {
	// controllers is e.g. "cpu,cpuacct" or "name=systemd"; empty for the
	// cgroup v2 hierarchy.
	controllers string
	// path is the process's cgroup in that hierarchy, relative to the
	// root of its cgroup namespace.
	path string
}

func (mt *mounter) mountCgroup(m *configs.Mount) error {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupDir, &st); err != nil {
		return &os.PathError{Op: "statfs", Path: hostCgroupDir, Err: err}
	}
	if m.Type == "cgroup2" || st.Type == unix.CGROUP2_SUPER_MAGIC {
		return mt.mountCgroup2(m)
	}
	return mt.mountCgroupV1(m)
}

func (mt *mounter) mountCgroup2(m *configs.Mount) error {
	t, err := mt.resolveDestination(m, createDir)
	if err != nil {
		return err
	}
	defer t.Close()
	// A new cgroup2 mount made from the initial cgroup namespace applies
	// its options (or their absence: nsdelegate, memory_recursiveprot...)
	// to the host's one cgroup2 superblock. So only a process in a cgroup
	// namespace of its own mounts cgroup2; any other binds its cgroup.
	inInitNs, err := mt.inInitialCgroupNamespace()
	if err != nil {
		return err
	}
	mountErr := errors.New("in the initial cgroup namespace")
	if !inInitNs {
		cg := *m
		cg.Type = "cgroup2"
		mountErr = mt.mountOnto(t, &cg)
		if !errors.Is(mountErr, unix.EPERM) && !errors.Is(mountErr, unix.EBUSY) {
			return mountErr
		}
	}
	// Without a cgroup namespace of its own a user namespace may not mount
	// cgroup2 either: bind the process's own cgroup from the host instead.
	own, err := mt.ownCgroupDirs()
	if err != nil {
		return errors.Join(mountErr, err)
	}
	for _, dir := range own {
		if dir.membership.controllers == "" && dir.hostDir != "" {
			return mt.bindHostDir(t, dir.hostDir, m)
		}
	}
	return mountErr
}

// mountCgroupV1 sets up a cgroup v1 style /sys/fs/cgroup: a tmpfs with one
// directory per hierarchy the host has mounted, each holding the process's
// own cgroup of that hierarchy, read-only.
func (mt *mounter) mountCgroupV1(m *configs.Mount) error {
	own, err := mt.ownCgroupDirs()
	if err != nil {
		return err
	}
	t, err := mt.resolveDestination(m, createDir)
	if err != nil {
		return err
	}
	defer t.Close()
	tmpfs := configs.Mount{
		Source:      "tmpfs",
		Destination: m.Destination,
		Type:        "tmpfs",
		Flags:       m.Flags &^ (unix.MS_RDONLY | unix.MS_BIND | unix.MS_REC),
		Data:        "mode=755",
	}
	if err := mt.mountOnto(t, &tmpfs); err != nil {
		return fmt.Errorf("tmpfs: %w", err)
	}
	tmpfsRoot, err := mountedAt(t)
	if err != nil {
		return err
	}
	defer tmpfsRoot.Close()

	for _, dir := range own {
		name := path.Base(dir.mount.Mountpoint)
		dest := path.Join(m.Destination, name)
		if err := mt.mountHierarchy(tmpfsRoot, name, dir, dest, m.Flags); err != nil {
			return fmt.Errorf("cgroup hierarchy %s on %s: %w", dir.mount.VFSOptions, dest, err)
		}
		// Co-mounted controllers ("cpu,cpuacct") are also reachable under
		// each controller's name, as on the host.
		for _, controller := range strings.Split(name, ",") {
			if controller == name {
				continue
			}
			err := unix.Symlinkat(name, fd(tmpfsRoot), controller)
			if err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("symlink %s to %s: %w", path.Join(m.Destination, controller), name, err)
			}
		}
	}
	if m.Flags&unix.MS_RDONLY != 0 {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(fd(tmpfsRoot), "", unix.AT_EMPTY_PATH, attr); err != nil {
			return fmt.Errorf("make tmpfs read-only: %w", err)
		}
	}
	return nil
}

// bindHierarchy binds the host's hostDir, read-only (and nosuid, nodev,
// noexec as flags say, recursively), at name in the cgroup tmpfs. The tmpfs
// was mounted a moment ago by us, so name is looked up in it directly; the
// copy of hostDir gets its attributes while still detached and is moved
// onto the directory's fd: five syscalls where a bind by path, a remount
// and the checks of bindOnto take some thirty, for each of the host's
// hierarchies.
func bindHierarchy(tmpfsRoot *os.File, name, hostDir string, flags uintptr) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, hostDir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %w", hostDir, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	for _, f := range []struct {
		flag uintptr
		attr uint64
	}{{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID}, {unix.MS_NODEV, unix.MOUNT_ATTR_NODEV}, {unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC}} {
		if flags&f.flag != 0 {
			attr.Attr_set |= f.attr
		}
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
		return fmt.Errorf("mount_setattr %s: %w", hostDir, err)
	}
	if err := unix.Mkdirat(fd(tmpfsRoot), name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir %s: %w", name, err)
	}
	target, err := unix.Openat(fd(tmpfsRoot), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(target)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount %s: %w", hostDir, err)
	}
	return nil
}

// mountHierarchy puts the process's cgroup of one hierarchy at dest,
// read-only, with the nosuid/nodev/noexec of the cgroup mount.
func (mt *mounter) mountHierarchy(tmpfsRoot *os.File, name string, dir ownCgroupDir, dest string, flags uintptr) error {
	if dir.hostDir != "" {
		return bindHierarchy(tmpfsRoot, name, dir.hostDir, flags)
	}
	sub := configs.Mount{
		Destination: dest,
		Flags:       unix.MS_RDONLY | flags&(unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC),
		RecAttrSet:  unix.MOUNT_ATTR_RDONLY,
	}
	// In a cgroup namespace the host's mount of the hierarchy lies outside
	// the namespace, so its path cannot be derived; a new mount of the
	// hierarchy is rooted at the namespace's cgroup, which is the one we
	// want.
	sub.Source = "cgroup"
	sub.Type = dir.mount.FSType
	if dir.membership.controllers != "" {
		sub.Data = dir.membership.controllers
	}
	return mt.mountFilesystem(&sub)
}

// ownCgroupDir is a hierarchy the process belongs to and the host mounts.
type ownCgroupDir struct {
	membership cgroupMembership
	mount      *mountinfo.Info
	// hostDir is the host path of the process's cgroup in the hierarchy,
	// or "" when a cgroup namespace hides it.
	hostDir string
}

// ownCgroupDirs lists the hierarchies of the process that the host has
// mounted under /sys/fs/cgroup, from the trusted procfs.
func (mt *mounter) ownCgroupDirs() ([]ownCgroupDir, error) {
	memberships, err := mt.readCgroupMemberships()
	if err != nil {
		return nil, err
	}
	mounts, err := mt.hostCgroupMounts()
	if err != nil {
		return nil, err
	}
	var dirs []ownCgroupDir
	for _, membership := range memberships {
		mount := findHierarchyMount(mounts, membership)
		if mount == nil {
			continue
		}
		dir := ownCgroupDir{membership: membership, mount: mount}
		if rel, ok := relativeCgroupPath(membership.path, mount.Root); ok {
			dir.hostDir = path.Join(mount.Mountpoint, rel)
		}
		dirs = append(dirs, dir)
	}
	return dirs, nil
}

func (mt *mounter) readCgroupMemberships() ([]cgroupMembership, error) {
	f, err := mt.proc.Open(mt.opts.process()+"/cgroup", unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var memberships []cgroupMembership
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		// "<hierarchy ID>:<controllers>:<path>"; the path may contain ':'.
		fields := strings.SplitN(scanner.Text(), ":", 3)
		if len(fields) != 3 {
			continue
		}
		memberships = append(memberships, cgroupMembership{controllers: fields[1], path: fields[2]})
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/self/cgroup: %w", err)
	}
	return memberships, nil
}

func (mt *mounter) hostCgroupMounts() ([]*mountinfo.Info, error) {
	f, err := mt.proc.Open("thread-self/mountinfo", unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mounts, err := mountinfo.GetMountsFromReader(f, func(info *mountinfo.Info) (skip, stop bool) {
		isCgroup := info.FSType == "cgroup" || info.FSType == "cgroup2"
		// /sys/fs/cgroup itself on a cgroup v2 host, below it otherwise.
		under := info.Mountpoint == hostCgroupDir || strings.HasPrefix(info.Mountpoint, hostCgroupDir+"/")
		return !isCgroup || !under, false
	})
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return mounts, nil
}

// findHierarchyMount returns the host mount of membership's hierarchy.
func findHierarchyMount(mounts []*mountinfo.Info, membership cgroupMembership) *mountinfo.Info {
	for _, m := range mounts {
		if membership.controllers == "" {
			if m.FSType == "cgroup2" {
				return m
			}
			continue
		}
		if m.FSType != "cgroup" {
			continue
		}
		options := strings.Split(m.VFSOptions, ",")
		hasAll := true
		for _, c := range strings.Split(membership.controllers, ",") {
			hasAll = hasAll && slices.Contains(options, c)
		}
		if hasAll {
			return m
		}
	}
	return nil
}

// relativeCgroupPath returns cgroupPath relative to the root of a mount of
// its hierarchy, if the mount's root contains it.
func relativeCgroupPath(cgroupPath, mountRoot string) (string, bool) {
	// A process moved out of its cgroup namespace's root sees "/../x":
	// joining that to the mount point would point outside the hierarchy.
	if slices.Contains(strings.Split(cgroupPath, "/"), "..") {
		return "", false
	}
	if mountRoot == "/" {
		return cgroupPath, true
	}
	if cgroupPath == mountRoot {
		return "/", true
	}
	rel, ok := strings.CutPrefix(cgroupPath, mountRoot+"/")
	return "/" + rel, ok
}

// initCgroupNamespaceInode is the fixed inode number of the kernel's
// initial cgroup namespace (PROC_CGROUP_INIT_INO).
const initCgroupNamespaceInode = 0xEFFFFFFB

func (mt *mounter) inInitialCgroupNamespace() (bool, error) {
	ino, err := mt.proc.NamespaceInode("cgroup")
	if err != nil {
		return false, err
	}
	return ino == initCgroupNamespaceInode, nil
}
