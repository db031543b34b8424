package specconv

import specs "github.com/opencontainers/runtime-spec/specs-go"

// The cgroup resources of config.json, for decodeFast: engines send them
// with every container. blockIO, hugepageLimits, network and rdma go to
// encoding/json.

func (r *jsonReader) resources(res *specs.LinuxResources) error {
	return r.object(func(name string) error {
		var err error
		switch name {
		case "devices":
			res.Devices, err = listOf(r, r.deviceCgroup)
		case "memory":
			err = pointerTo(r, &res.Memory, r.memory)
		case "cpu":
			err = pointerTo(r, &res.CPU, r.cpu)
		case "pids":
			err = pointerTo(r, &res.Pids, r.pids)
		case "blockIO":
			err = r.deferred(&res.BlockIO)
		case "hugepageLimits":
			err = r.deferred(&res.HugepageLimits)
		case "network":
			err = r.deferred(&res.Network)
		case "rdma":
			err = r.deferred(&res.Rdma)
		case "unified":
			res.Unified, err = r.stringMap()
		default:
			err = r.unknownMember(name, "devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits",
				"network", "rdma", "unified")
		}
		return err
	})
}

func (r *jsonReader) deviceCgroup(d *specs.LinuxDeviceCgroup) error {
	return r.object(func(name string) error {
		switch name {
		case "allow":
			return r.boolField(&d.Allow)
		case "type":
			return r.stringField(&d.Type)
		case "major":
			return r.int64Pointer(&d.Major)
		case "minor":
			return r.int64Pointer(&d.Minor)
		case "access":
			return r.stringField(&d.Access)
		}
		return r.unknownMember(name, "allow", "type", "major", "minor", "access")
	})
}

func (r *jsonReader) memory(m *specs.LinuxMemory) error {
	return r.object(func(name string) error {
		switch name {
		case "limit":
			return r.int64Pointer(&m.Limit)
		case "reservation":
			return r.int64Pointer(&m.Reservation)
		case "swap":
			return r.int64Pointer(&m.Swap)
		case "kernel":
			return r.int64Pointer(&m.Kernel)
		case "kernelTCP":
			return r.int64Pointer(&m.KernelTCP)
		case "swappiness":
			return r.uint64Pointer(&m.Swappiness)
		case "disableOOMKiller":
			return r.boolPointer(&m.DisableOOMKiller)
		case "useHierarchy":
			return r.boolPointer(&m.UseHierarchy)
		case "checkBeforeUpdate":
			return r.boolPointer(&m.CheckBeforeUpdate)
		}
		return r.unknownMember(name, "limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness",
			"disableOOMKiller", "useHierarchy", "checkBeforeUpdate")
	})
}

func (r *jsonReader) cpu(c *specs.LinuxCPU) error {
	return r.object(func(name string) error {
		switch name {
		case "shares":
			return r.uint64Pointer(&c.Shares)
		case "quota":
			return r.int64Pointer(&c.Quota)
		case "burst":
			return r.uint64Pointer(&c.Burst)
		case "period":
			return r.uint64Pointer(&c.Period)
		case "realtimeRuntime":
			return r.int64Pointer(&c.RealtimeRuntime)
		case "realtimePeriod":
			return r.uint64Pointer(&c.RealtimePeriod)
		case "cpus":
			return r.stringField(&c.Cpus)
		case "mems":
			return r.stringField(&c.Mems)
		case "idle":
			return r.int64Pointer(&c.Idle)
		}
		return r.unknownMember(name, "shares", "quota", "burst", "period", "realtimeRuntime",
			"realtimePeriod", "cpus", "mems", "idle")
	})
}

func (r *jsonReader) pids(p *specs.LinuxPids) error {
	return r.object(func(name string) error {
		if name == "limit" {
			return r.int64Pointer(&p.Limit)
		}
		return r.unknownMember(name, "limit")
	})
}

// int64Pointer, uint64Pointer and boolPointer decode a pointer to a
// scalar (null: nil).
func (r *jsonReader) int64Pointer(p **int64) error {
	if r.null() {
		*p = nil
		return nil
	}
	n, err := r.int(64)
	*p = &n
	return err
}

func (r *jsonReader) uint64Pointer(p **uint64) error {
	if r.null() {
		*p = nil
		return nil
	}
	n, err := r.uint(64)
	*p = &n
	return err
}

func (r *jsonReader) boolPointer(p **bool) error {
	if r.null() {
		*p = nil
		return nil
	}
	b, err := r.boolean()
	*p = &b
	return err
}
