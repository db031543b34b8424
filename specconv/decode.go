package specconv

import (
	"encoding/json"
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Why config.json is not simply json.Unmarshal'ed into a specs.Spec:
// encoding/json builds, the first time it meets a struct type, the encoders
// of every type reachable from it, whether or not the document holds them.
// For specs.Spec that is the whole runtime-spec (cgroup resources, seccomp,
// Windows, VM, z/OS, ...): ≈ 0.25 ms of CPU and ≈ 200 KB of heap in every
// `husk create` and `run`, about 3 % of a whole `run` (docs/performance.md).
// So the members a config rarely has, and the other platforms, are kept as
// raw JSON by the first pass and decoded into their specs types only when
// present. The result is the same specs.Spec json.Unmarshal would give,
// duplicate keys included (TestLazyDecodeMatchesUnmarshal and its fuzz
// target compare the two); any error falls back to the plain decoder, whose
// errors LoadSpec reports.

// rawMembers keeps every occurrence of one member, in document order, so
// that decoding them one after another into the same target merges
// duplicate keys exactly as encoding/json does.
type rawMembers []json.RawMessage

// UnmarshalJSON records one occurrence of the member.
func (r *rawMembers) UnmarshalJSON(data []byte) error {
	*r = append(*r, append(json.RawMessage(nil), data...))
	return nil
}

// decodeInto decodes each recorded occurrence into target.
func (r rawMembers) decodeInto(target any) error {
	for _, raw := range r {
		if err := json.Unmarshal(raw, target); err != nil {
			return err
		}
	}
	return nil
}

// lazySpec is specs.Spec with the other platforms deferred. Its fields and
// tags must follow specs.Spec's (TestLazyTypesFollowSpecs checks it).
type lazySpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       rawMembers        `json:"linux,omitempty"`
	Solaris     rawMembers        `json:"solaris,omitempty"`
	Windows     rawMembers        `json:"windows,omitempty"`
	VM          rawMembers        `json:"vm,omitempty"`
	ZOS         rawMembers        `json:"zos,omitempty"`
	FreeBSD     rawMembers        `json:"freebsd,omitempty"`
}

// lazyLinux is specs.Linux with its large, rarely present members
// deferred.
type lazyLinux struct {
	UIDMappings       []specs.LinuxIDMapping           `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping           `json:"gidMappings,omitempty"`
	Sysctl            map[string]string                `json:"sysctl,omitempty"`
	Resources         rawMembers                       `json:"resources,omitempty"`
	CgroupsPath       string                           `json:"cgroupsPath,omitempty"`
	Namespaces        []specs.LinuxNamespace           `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice              `json:"devices,omitempty"`
	NetDevices        rawMembers                       `json:"netDevices,omitempty"`
	Seccomp           rawMembers                       `json:"seccomp,omitempty"`
	RootfsPropagation string                           `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                         `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                         `json:"readonlyPaths,omitempty"`
	MountLabel        string                           `json:"mountLabel,omitempty"`
	IntelRdt          rawMembers                       `json:"intelRdt,omitempty"`
	MemoryPolicy      rawMembers                       `json:"memoryPolicy,omitempty"`
	Personality       rawMembers                       `json:"personality,omitempty"`
	TimeOffsets       map[string]specs.LinuxTimeOffset `json:"timeOffsets,omitempty"`
}

// errDuplicateLinux sends a document with more than one "linux" member to
// the plain decoder: a later `"linux": null` would drop the members
// deferred from an earlier one, and with them the errors json.Unmarshal
// reports for them.
var errDuplicateLinux = errors.New("linux given more than once")

// decodeSpec decodes config.json content into a specs.Spec, deferring the
// members described above. On any error it returns the error of
// json.Unmarshal into a specs.Spec, so messages and error types are those
// of the standard decoder.
func decodeSpec(data []byte) (*specs.Spec, error) {
	if spec, err := decodeFast(data); err == nil {
		return spec, nil
	}
	spec, err := decodeLazy(data)
	if err == nil {
		return spec, nil
	}
	var plain specs.Spec
	if err := json.Unmarshal(data, &plain); err != nil {
		return nil, err
	}
	// Unreachable as long as the two decoders agree; the plain result is
	// the reference.
	return &plain, nil
}

func decodeLazy(data []byte) (*specs.Spec, error) {
	var doc lazySpec
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	spec := &specs.Spec{
		Version:     doc.Version,
		Process:     doc.Process,
		Root:        doc.Root,
		Hostname:    doc.Hostname,
		Domainname:  doc.Domainname,
		Mounts:      doc.Mounts,
		Hooks:       doc.Hooks,
		Annotations: doc.Annotations,
	}
	deferred := []struct {
		members rawMembers
		target  any
	}{
		{doc.Solaris, &spec.Solaris},
		{doc.Windows, &spec.Windows},
		{doc.VM, &spec.VM},
		{doc.ZOS, &spec.ZOS},
		{doc.FreeBSD, &spec.FreeBSD},
	}
	if len(doc.Linux) > 1 {
		return nil, errDuplicateLinux
	}
	var linux *lazyLinux
	if err := doc.Linux.decodeInto(&linux); err != nil {
		return nil, err
	}
	if l := linux; l != nil {
		spec.Linux = &specs.Linux{
			UIDMappings:       l.UIDMappings,
			GIDMappings:       l.GIDMappings,
			Sysctl:            l.Sysctl,
			CgroupsPath:       l.CgroupsPath,
			Namespaces:        l.Namespaces,
			Devices:           l.Devices,
			RootfsPropagation: l.RootfsPropagation,
			MaskedPaths:       l.MaskedPaths,
			ReadonlyPaths:     l.ReadonlyPaths,
			MountLabel:        l.MountLabel,
			TimeOffsets:       l.TimeOffsets,
		}
		deferred = append(deferred, []struct {
			members rawMembers
			target  any
		}{
			{l.Resources, &spec.Linux.Resources},
			{l.NetDevices, &spec.Linux.NetDevices},
			{l.Seccomp, &spec.Linux.Seccomp},
			{l.IntelRdt, &spec.Linux.IntelRdt},
			{l.MemoryPolicy, &spec.Linux.MemoryPolicy},
			{l.Personality, &spec.Linux.Personality},
		}...)
	}
	for _, d := range deferred {
		if err := d.members.decodeInto(d.target); err != nil {
			return nil, err
		}
	}
	return spec, nil
}
