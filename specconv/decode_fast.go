package specconv

import (
	"encoding/json"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// decodeFast decodes config.json without reflection: encoding/json spends
// ≈ 0.35 ms of every `create` building, cold, the field tables and
// encoders of the types it meets (docs/performance.md). It handles the
// members husk reads on every start (process, root, mounts, hooks, the
// common part of linux) and hands the rarely present ones to
// encoding/json. Anything it does not decode exactly
// as json.Unmarshal would (see jsonReader) returns errDecline, and the
// caller decodes the whole document with encoding/json instead.
// TestFastDecodeCoversEveryField and FuzzDecodeSpec compare the two.
func decodeFast(data []byte) (*specs.Spec, error) {
	if !json.Valid(data) {
		return nil, errDecline
	}
	r := &jsonReader{data: data}
	if r.next() != '{' {
		return nil, errDecline
	}
	spec := &specs.Spec{}
	err := r.object(func(name string) error {
		var err error
		switch name {
		case "ociVersion":
			err = r.stringField(&spec.Version)
		case "process":
			err = pointerTo(r, &spec.Process, r.process)
		case "root":
			err = pointerTo(r, &spec.Root, r.root)
		case "hostname":
			err = r.stringField(&spec.Hostname)
		case "domainname":
			err = r.stringField(&spec.Domainname)
		case "mounts":
			spec.Mounts, err = listOf(r, r.mount)
		case "hooks":
			err = pointerTo(r, &spec.Hooks, r.hooks)
		case "annotations":
			spec.Annotations, err = r.stringMap()
		case "linux":
			err = pointerTo(r, &spec.Linux, r.linux)
		case "solaris":
			err = r.deferred(&spec.Solaris)
		case "windows":
			err = r.deferred(&spec.Windows)
		case "vm":
			err = r.deferred(&spec.VM)
		case "zos":
			err = r.deferred(&spec.ZOS)
		case "freebsd":
			err = r.deferred(&spec.FreeBSD)
		default:
			err = r.unknownMember(name, "ociVersion", "process", "root", "hostname", "domainname",
				"mounts", "hooks", "annotations", "linux", "solaris", "windows", "vm", "zos", "freebsd")
		}
		return err
	})
	if err != nil || !r.atEnd() {
		return nil, errDecline
	}
	return spec, nil
}

// pointerTo decodes an object into a new *T at *p with decode, or sets
// *p to nil for null.
func pointerTo[T any](r *jsonReader, p **T, decode func(*T) error) error {
	if r.null() {
		*p = nil
		return nil
	}
	v := new(T)
	*p = v
	return decode(v)
}

// listOf decodes an array of objects, or null (nil); an empty array is an
// empty, non-nil slice.
func listOf[T any](r *jsonReader, decode func(*T) error) ([]T, error) {
	if r.null() {
		return nil, nil
	}
	list := []T{}
	err := r.array(func() error {
		if r.next() != '{' {
			return errDecline
		}
		var v T
		err := decode(&v)
		list = append(list, v)
		return err
	})
	return list, err
}

// stringField, boolField, uint32Field and int64Field decode a scalar; null
// leaves the field alone, as encoding/json does.
func (r *jsonReader) stringField(p *string) error {
	if r.null() {
		return nil
	}
	s, err := r.str()
	*p = s
	return err
}

func (r *jsonReader) boolField(p *bool) error {
	if r.null() {
		return nil
	}
	b, err := r.boolean()
	*p = b
	return err
}

func (r *jsonReader) uint32Field(p *uint32) error {
	if r.null() {
		return nil
	}
	n, err := r.uint(32)
	*p = uint32(n)
	return err
}

func (r *jsonReader) uint64Field(p *uint64) error {
	if r.null() {
		return nil
	}
	n, err := r.uint(64)
	*p = n
	return err
}

func (r *jsonReader) int64Field(p *int64) error {
	if r.null() {
		return nil
	}
	n, err := r.int(64)
	*p = n
	return err
}

// intPointer decodes a *int (null: nil).
func (r *jsonReader) intPointer(p **int) error {
	if r.null() {
		*p = nil
		return nil
	}
	n, err := r.int(intBits)
	v := int(n)
	*p = &v
	return err
}

func (r *jsonReader) uint32Pointer(p **uint32) error {
	if r.null() {
		*p = nil
		return nil
	}
	n, err := r.uint(32)
	v := uint32(n)
	*p = &v
	return err
}

// intBits is the size of int in bits, which encoding/json parses an int
// field with.
const intBits = 32 << (^uint(0) >> 63)

// deferred decodes a rarely present member with encoding/json.
func (r *jsonReader) deferred(target any) error {
	raw, err := r.raw()
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, target); err != nil {
		return errDecline
	}
	return nil
}

func (r *jsonReader) process(p *specs.Process) error {
	return r.object(func(name string) error {
		switch name {
		case "terminal":
			return r.boolField(&p.Terminal)
		case "consoleSize":
			return r.deferred(&p.ConsoleSize)
		case "user":
			if r.null() {
				return nil
			}
			return r.user(&p.User)
		case "args":
			return r.stringListField(&p.Args)
		case "commandLine":
			return r.stringField(&p.CommandLine)
		case "env":
			return r.stringListField(&p.Env)
		case "cwd":
			return r.stringField(&p.Cwd)
		case "capabilities":
			return pointerTo(r, &p.Capabilities, r.capabilities)
		case "rlimits":
			var err error
			p.Rlimits, err = listOf(r, r.rlimit)
			return err
		case "noNewPrivileges":
			return r.boolField(&p.NoNewPrivileges)
		case "apparmorProfile":
			return r.stringField(&p.ApparmorProfile)
		case "oomScoreAdj":
			return r.intPointer(&p.OOMScoreAdj)
		case "scheduler":
			return r.deferred(&p.Scheduler)
		case "selinuxLabel":
			return r.stringField(&p.SelinuxLabel)
		case "ioPriority":
			return r.deferred(&p.IOPriority)
		case "execCPUAffinity":
			return r.deferred(&p.ExecCPUAffinity)
		}
		return r.unknownMember(name, "terminal", "consoleSize", "user", "args", "commandLine", "env",
			"cwd", "capabilities", "rlimits", "noNewPrivileges", "apparmorProfile", "oomScoreAdj",
			"scheduler", "selinuxLabel", "ioPriority", "execCPUAffinity")
	})
}

func (r *jsonReader) stringListField(p *[]string) error {
	list, err := r.stringList()
	*p = list
	return err
}

func (r *jsonReader) user(u *specs.User) error {
	return r.object(func(name string) error {
		switch name {
		case "uid":
			return r.uint32Field(&u.UID)
		case "gid":
			return r.uint32Field(&u.GID)
		case "umask":
			return r.uint32Pointer(&u.Umask)
		case "additionalGids":
			if r.null() {
				u.AdditionalGids = nil
				return nil
			}
			gids := []uint32{}
			err := r.array(func() error {
				n, err := r.uint(32)
				gids = append(gids, uint32(n))
				return err
			})
			u.AdditionalGids = gids
			return err
		case "username":
			return r.stringField(&u.Username)
		}
		return r.unknownMember(name, "uid", "gid", "umask", "additionalGids", "username")
	})
}

func (r *jsonReader) capabilities(c *specs.LinuxCapabilities) error {
	return r.object(func(name string) error {
		switch name {
		case "bounding":
			return r.stringListField(&c.Bounding)
		case "effective":
			return r.stringListField(&c.Effective)
		case "inheritable":
			return r.stringListField(&c.Inheritable)
		case "permitted":
			return r.stringListField(&c.Permitted)
		case "ambient":
			return r.stringListField(&c.Ambient)
		}
		return r.unknownMember(name, "bounding", "effective", "inheritable", "permitted", "ambient")
	})
}

func (r *jsonReader) rlimit(l *specs.POSIXRlimit) error {
	return r.object(func(name string) error {
		switch name {
		case "type":
			return r.stringField(&l.Type)
		case "hard":
			return r.uint64Field(&l.Hard)
		case "soft":
			return r.uint64Field(&l.Soft)
		}
		return r.unknownMember(name, "type", "hard", "soft")
	})
}

func (r *jsonReader) root(root *specs.Root) error {
	return r.object(func(name string) error {
		switch name {
		case "path":
			return r.stringField(&root.Path)
		case "readonly":
			return r.boolField(&root.Readonly)
		}
		return r.unknownMember(name, "path", "readonly")
	})
}

func (r *jsonReader) mount(m *specs.Mount) error {
	return r.object(func(name string) error {
		var err error
		switch name {
		case "destination":
			return r.stringField(&m.Destination)
		case "type":
			return r.stringField(&m.Type)
		case "source":
			return r.stringField(&m.Source)
		case "options":
			return r.stringListField(&m.Options)
		case "uidMappings":
			m.UIDMappings, err = listOf(r, r.idMapping)
			return err
		case "gidMappings":
			m.GIDMappings, err = listOf(r, r.idMapping)
			return err
		}
		return r.unknownMember(name, "destination", "type", "source", "options", "uidMappings", "gidMappings")
	})
}

func (r *jsonReader) idMapping(m *specs.LinuxIDMapping) error {
	return r.object(func(name string) error {
		switch name {
		case "containerID":
			return r.uint32Field(&m.ContainerID)
		case "hostID":
			return r.uint32Field(&m.HostID)
		case "size":
			return r.uint32Field(&m.Size)
		}
		return r.unknownMember(name, "containerID", "hostID", "size")
	})
}

func (r *jsonReader) hooks(h *specs.Hooks) error {
	return r.object(func(name string) error {
		var list *[]specs.Hook
		switch name {
		case "prestart":
			list = &h.Prestart
		case "createRuntime":
			list = &h.CreateRuntime
		case "createContainer":
			list = &h.CreateContainer
		case "startContainer":
			list = &h.StartContainer
		case "poststart":
			list = &h.Poststart
		case "poststop":
			list = &h.Poststop
		default:
			return r.unknownMember(name, "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
		}
		var err error
		*list, err = listOf(r, r.hook)
		return err
	})
}

func (r *jsonReader) hook(h *specs.Hook) error {
	return r.object(func(name string) error {
		switch name {
		case "path":
			return r.stringField(&h.Path)
		case "args":
			return r.stringListField(&h.Args)
		case "env":
			return r.stringListField(&h.Env)
		case "timeout":
			return r.intPointer(&h.Timeout)
		}
		return r.unknownMember(name, "path", "args", "env", "timeout")
	})
}

func (r *jsonReader) linux(l *specs.Linux) error {
	return r.object(func(name string) error {
		var err error
		switch name {
		case "uidMappings":
			l.UIDMappings, err = listOf(r, r.idMapping)
		case "gidMappings":
			l.GIDMappings, err = listOf(r, r.idMapping)
		case "sysctl":
			l.Sysctl, err = r.stringMap()
		case "resources":
			err = pointerTo(r, &l.Resources, r.resources)
		case "cgroupsPath":
			err = r.stringField(&l.CgroupsPath)
		case "namespaces":
			l.Namespaces, err = listOf(r, r.namespace)
		case "devices":
			l.Devices, err = listOf(r, r.device)
		case "netDevices":
			err = r.deferred(&l.NetDevices)
		case "seccomp":
			err = r.deferred(&l.Seccomp)
		case "rootfsPropagation":
			err = r.stringField(&l.RootfsPropagation)
		case "maskedPaths":
			err = r.stringListField(&l.MaskedPaths)
		case "readonlyPaths":
			err = r.stringListField(&l.ReadonlyPaths)
		case "mountLabel":
			err = r.stringField(&l.MountLabel)
		case "intelRdt":
			err = r.deferred(&l.IntelRdt)
		case "memoryPolicy":
			err = r.deferred(&l.MemoryPolicy)
		case "personality":
			err = r.deferred(&l.Personality)
		case "timeOffsets":
			err = r.deferred(&l.TimeOffsets)
		default:
			err = r.unknownMember(name, "uidMappings", "gidMappings", "sysctl", "resources", "cgroupsPath",
				"namespaces", "devices", "netDevices", "seccomp", "rootfsPropagation", "maskedPaths",
				"readonlyPaths", "mountLabel", "intelRdt", "memoryPolicy", "personality", "timeOffsets")
		}
		return err
	})
}

func (r *jsonReader) namespace(ns *specs.LinuxNamespace) error {
	return r.object(func(name string) error {
		switch name {
		case "type":
			var t string
			if r.null() {
				return nil
			}
			s, err := r.str()
			t = s
			ns.Type = specs.LinuxNamespaceType(t)
			return err
		case "path":
			return r.stringField(&ns.Path)
		}
		return r.unknownMember(name, "type", "path")
	})
}

func (r *jsonReader) device(d *specs.LinuxDevice) error {
	return r.object(func(name string) error {
		switch name {
		case "path":
			return r.stringField(&d.Path)
		case "type":
			return r.stringField(&d.Type)
		case "major":
			return r.int64Field(&d.Major)
		case "minor":
			return r.int64Field(&d.Minor)
		case "fileMode":
			if r.null() {
				d.FileMode = nil
				return nil
			}
			n, err := r.uint(32)
			mode := os.FileMode(n)
			d.FileMode = &mode
			return err
		case "uid":
			return r.uint32Pointer(&d.UID)
		case "gid":
			return r.uint32Pointer(&d.GID)
		}
		return r.unknownMember(name, "path", "type", "major", "minor", "fileMode", "uid", "gid")
	})
}
