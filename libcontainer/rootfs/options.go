package rootfs

import (
	"os"

	"github.com/huskrt/husk/libcontainer/procfs"
)

// Options say on whose behalf Prepare works. The zero value but for Proc
// suits a caller that is itself the container's init. A caller working
// from outside a user namespace should take the filesystem ids of the
// container's root (setfsuid/setfsgid) so that what Prepare creates is
// owned, and allowed, as if made from inside.
type Options struct {
	// Proc is a verified procfs handle; Prepare mounts onto descriptors
	// through it.
	Proc *procfs.Handle
	// MountFS makes a new filesystem (any mount but a bind) of fstype
	// onto target, with mount(2)'s flags and data. nil means mount(2) by
	// the caller. husk's parent sets the rootfs up from outside the
	// container and passes a MountFS that asks the container's init to
	// mount: a new superblock belongs to the namespaces of the process
	// that mounts it (procfs to its pid namespace, mqueue to its IPC
	// namespace, tmpfs and devpts to its user namespace).
	MountFS func(source, fstype string, flags uintptr, data string, target *os.File) error
	// BindDevices makes Prepare bind-mount the host's device nodes
	// instead of making them with mknod, as a container in a user
	// namespace must (the kernel refuses its nodes); the init inside one
	// would get EPERM from mknod and do the same.
	BindDevices bool
	// HostIDs translates a uid and gid of the container (a device node's
	// owner) into the host ids to chown to, for a caller outside the
	// container's user namespace; nil means they are the same.
	HostIDs func(uid, gid uint32) (int, int, error)
	// Process is the procfs entry ("thread-self", or an init's pid as a
	// string) of the process whose own cgroups are bound into the
	// container; "" means thread-self.
	Process string
}

func (o Options) process() string {
	if o.Process == "" {
		return "thread-self"
	}
	return o.Process
}

func (o Options) hostIDs(uid, gid uint32) (int, int, error) {
	if o.HostIDs == nil {
		return int(uid), int(gid), nil
	}
	return o.HostIDs(uid, gid)
}
