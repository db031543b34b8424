// Package configs holds libcontainer's own description of a container: the
// runtime-spec config after validation and conversion (see package specconv).
//
// Values here are already checked and resolved: mount flags are numbers,
// capabilities are kernel capability numbers, paths are absolute. Code that
// sets up a container reads these types and never re-parses spec strings.
//
// Do not build a Config by hand unless you embed libcontainer without an OCI
// bundle; specconv.Convert is the supported way to get one.
package configs

// Config is everything needed to create one container.
type Config struct {
	// Rootfs is the absolute host path of the container's root filesystem.
	Rootfs string `json:"rootfs"`
	// ReadonlyRootfs remounts the root read-only after setup.
	ReadonlyRootfs bool `json:"readonlyRootfs,omitempty"`
	// NoPivotRoot uses MS_MOVE + chroot instead of pivot_root(2).
	NoPivotRoot bool `json:"noPivotRoot,omitempty"`
	// RootPropagation is the propagation applied (recursively) to "/" of the
	// container's mount namespace before any mount, e.g. MS_SLAVE|MS_REC.
	// Zero means the default (MS_SLAVE|MS_REC, like runc).
	RootPropagation uintptr `json:"rootPropagation,omitempty"`

	Hostname   string `json:"hostname,omitempty"`
	Domainname string `json:"domainname,omitempty"`

	// Namespaces lists the namespaces of the container. An entry without Path
	// is created fresh; with Path it is joined.
	Namespaces  []Namespace `json:"namespaces,omitempty"`
	UIDMappings []IDMap     `json:"uidMappings,omitempty"`
	GIDMappings []IDMap     `json:"gidMappings,omitempty"`
	// TimeOffsets for a new time namespace, keyed "monotonic" or "boottime".
	TimeOffsets map[string]TimeOffset `json:"timeOffsets,omitempty"`

	Mounts        []Mount           `json:"mounts,omitempty"`
	Devices       []Device          `json:"devices,omitempty"`
	MaskedPaths   []string          `json:"maskedPaths,omitempty"`
	ReadonlyPaths []string          `json:"readonlyPaths,omitempty"`
	Sysctl        map[string]string `json:"sysctl,omitempty"`

	// CgroupsPath is kept for the cgroup managers (not applied yet).
	CgroupsPath string `json:"cgroupsPath,omitempty"`

	Hooks Hooks `json:"hooks,omitempty"`

	// Process is the container's init process (the workload).
	Process *Process `json:"process"`

	// Annotations are copied into the OCI state.
	Annotations map[string]string `json:"annotations,omitempty"`
	// OCIVersion is the ociVersion of the bundle's config.json.
	OCIVersion string `json:"ociVersion"`
}

// NamespaceType is a runtime-spec namespace name ("pid", "network", ...).
type NamespaceType string

// The namespace types of the runtime-spec.
const (
	NEWPID    NamespaceType = "pid"
	NEWNET    NamespaceType = "network"
	NEWNS     NamespaceType = "mount"
	NEWIPC    NamespaceType = "ipc"
	NEWUTS    NamespaceType = "uts"
	NEWUSER   NamespaceType = "user"
	NEWCGROUP NamespaceType = "cgroup"
	NEWTIME   NamespaceType = "time"
)

// AllNamespaceTypes lists every type in the order namespaces are joined:
// user first (it owns the others), mount last of the non-pid ones.
func AllNamespaceTypes() []NamespaceType {
	return []NamespaceType{NEWUSER, NEWIPC, NEWUTS, NEWNET, NEWPID, NEWCGROUP, NEWTIME, NEWNS}
}

// Namespace is one namespace of the container.
type Namespace struct {
	Type NamespaceType `json:"type"`
	Path string        `json:"path,omitempty"`
}

// IDMap maps a range of IDs in a user namespace.
type IDMap struct {
	ContainerID uint32 `json:"containerID"`
	HostID      uint32 `json:"hostID"`
	Size        uint32 `json:"size"`
}

// TimeOffset is a time namespace offset.
type TimeOffset struct {
	Secs     int64  `json:"secs"`
	Nanosecs uint32 `json:"nanosecs"`
}

// Mount is one entry of the spec's mounts, with options decoded.
type Mount struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	// Type is the filesystem type; "bind" for bind mounts.
	Type string `json:"type"`
	// Flags are MS_* flags for mount(2) (MS_BIND and MS_REC included for
	// binds); ClearFlags are flags an option explicitly turned off (e.g.
	// "rw", "suid"), needed when remounting a bind mount.
	Flags      uintptr `json:"flags,omitempty"`
	ClearFlags uintptr `json:"clearFlags,omitempty"`
	// PropagationFlags are applied one by one after the mount.
	PropagationFlags []uintptr `json:"propagationFlags,omitempty"`
	// Data is the comma-separated filesystem-specific options.
	Data string `json:"data,omitempty"`
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* bits applied recursively
	// with mount_setattr(2) ("rro", "rnosuid", ...).
	RecAttrSet uint64 `json:"recAttrSet,omitempty"`
	RecAttrClr uint64 `json:"recAttrClr,omitempty"`
	// RecPropagation is MOUNT_ATTR propagation for "rprivate" etc. handled
	// by PropagationFlags; kept separate for clarity of intent.
}

// IsBind reports whether the mount is a bind mount.
func (m *Mount) IsBind() bool { return m.Type == "bind" || m.Flags&msBind != 0 }

const msBind = 0x1000

// Device is a device node to create in the container's /dev.
type Device struct {
	Path  string `json:"path"`
	Type  rune   `json:"type"` // 'c', 'b', 'u' or 'p'
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	// FileMode is the permission bits (0666 when unset in the spec).
	FileMode uint32 `json:"fileMode"`
	UID      uint32 `json:"uid"`
	GID      uint32 `json:"gid"`
}

// Process describes a process to run in the container.
type Process struct {
	Args     []string `json:"args"`
	Env      []string `json:"env,omitempty"`
	Cwd      string   `json:"cwd"`
	Terminal bool     `json:"terminal,omitempty"`
	// ConsoleWidth/Height are the initial terminal size (0 = leave).
	ConsoleWidth  uint16 `json:"consoleWidth,omitempty"`
	ConsoleHeight uint16 `json:"consoleHeight,omitempty"`

	User User `json:"user"`

	// Capabilities holds kernel capability numbers per set; nil means
	// "no capabilities section": all sets empty.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	Rlimits      []Rlimit      `json:"rlimits,omitempty"`

	NoNewPrivileges bool `json:"noNewPrivileges,omitempty"`
	OOMScoreAdj     *int `json:"oomScoreAdj,omitempty"`
}

// User is who the process runs as inside the container.
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	Umask          *uint32  `json:"umask,omitempty"`
	AdditionalGids []uint32 `json:"additionalGids,omitempty"`
	// Username, when set, is resolved from the container's /etc/passwd and
	// /etc/group after the rootfs is ready; it overrides UID/GID and adds
	// the user's supplementary groups.
	Username string `json:"username,omitempty"`
}

// Capabilities are the five capability sets as kernel numbers.
type Capabilities struct {
	Bounding    []int `json:"bounding,omitempty"`
	Effective   []int `json:"effective,omitempty"`
	Inheritable []int `json:"inheritable,omitempty"`
	Permitted   []int `json:"permitted,omitempty"`
	Ambient     []int `json:"ambient,omitempty"`
}

// Rlimit is one resource limit; Type is the RLIMIT_* number.
type Rlimit struct {
	Type int    `json:"type"`
	Hard uint64 `json:"hard"`
	Soft uint64 `json:"soft"`
}

// Hook is one OCI hook.
type Hook struct {
	Path    string   `json:"path"`
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Timeout *int     `json:"timeout,omitempty"`
}

// Hooks holds the hooks of each lifecycle point.
type Hooks struct {
	Prestart        []Hook `json:"prestart,omitempty"`
	CreateRuntime   []Hook `json:"createRuntime,omitempty"`
	CreateContainer []Hook `json:"createContainer,omitempty"`
	StartContainer  []Hook `json:"startContainer,omitempty"`
	Poststart       []Hook `json:"poststart,omitempty"`
	Poststop        []Hook `json:"poststop,omitempty"`
}

// Namespace returns the namespace entry of type t, if the container has one.
func (c *Config) Namespace(t NamespaceType) (Namespace, bool) {
	for _, ns := range c.Namespaces {
		if ns.Type == t {
			return ns, true
		}
	}
	return Namespace{}, false
}

// HasNewNamespace reports whether the container creates a new namespace of t.
func (c *Config) HasNewNamespace(t NamespaceType) bool {
	ns, ok := c.Namespace(t)
	return ok && ns.Path == ""
}

// HasCreateHooks reports whether any hook runs during create (prestart,
// createRuntime or createContainer).
func (h *Hooks) HasCreateHooks() bool {
	return len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer) > 0
}
