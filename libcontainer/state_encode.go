package libcontainer

import (
	"maps"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/huskrt/husk/libcontainer/configs"
	"github.com/huskrt/husk/libcontainer/nsenter"
)

// encodeState writes s as the JSON of state.json without reflection:
// json.Marshal of a savedState cost ≈ 0.2 ms of every create, cold, most
// of it building encoders for the configs types (docs/performance.md).
// The output decodes with encoding/json (readStateFile) into a savedState
// equal to s; TestEncodeStateRoundTrips checks it for every field.
func encodeState(s *savedState) []byte {
	w := &jsonWriter{b: make([]byte, 0, 2048)}
	w.open('{')
	w.str("id", s.ID)
	w.str("bundle", s.Bundle)
	w.key("created")
	w.b = append(w.b, '"')
	w.b = s.Created.AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
	w.str("owner", s.Owner)
	w.int("initPid", int64(s.InitPid))
	w.uint("initStartTime", s.InitStartTime)
	if s.Config != nil {
		w.key("config")
		w.config(s.Config)
	}
	if c := s.ProcessCreds; c != nil {
		w.key("processCreds")
		w.open('{')
		w.uint("UID", uint64(c.UID))
		w.uint("GID", uint64(c.GID))
		w.uint32s("AdditionalGids", c.AdditionalGids)
		w.key("Caps")
		w.capSets(c.Caps)
		w.int("LastCap", int64(c.LastCap))
		w.bool("NoNewPrivileges", c.NoNewPrivileges)
		w.close('}')
	}
	w.close('}')
	return w.b
}

func (w *jsonWriter) config(c *configs.Config) {
	w.open('{')
	w.str("rootfs", c.Rootfs)
	w.bool("readonlyRootfs", c.ReadonlyRootfs)
	w.bool("noPivotRoot", c.NoPivotRoot)
	w.uint("rootPropagation", uint64(c.RootPropagation))
	w.str("hostname", c.Hostname)
	w.str("domainname", c.Domainname)
	w.key("namespaces")
	w.list(len(c.Namespaces), func(i int) {
		w.open('{')
		w.str("type", string(c.Namespaces[i].Type))
		w.str("path", c.Namespaces[i].Path)
		w.close('}')
	})
	w.idMaps("uidMappings", c.UIDMappings)
	w.idMaps("gidMappings", c.GIDMappings)
	if len(c.TimeOffsets) > 0 {
		w.key("timeOffsets")
		w.open('{')
		for _, clock := range slices.Sorted(maps.Keys(c.TimeOffsets)) {
			off := c.TimeOffsets[clock]
			w.key(clock)
			w.open('{')
			w.int("secs", off.Secs)
			w.uint("nanosecs", uint64(off.Nanosecs))
			w.close('}')
		}
		w.close('}')
	}
	w.key("mounts")
	w.list(len(c.Mounts), func(i int) { w.mount(&c.Mounts[i]) })
	w.key("devices")
	w.list(len(c.Devices), func(i int) { w.device(&c.Devices[i]) })
	w.strs("maskedPaths", c.MaskedPaths)
	w.strs("readonlyPaths", c.ReadonlyPaths)
	w.strMap("sysctl", c.Sysctl)
	w.str("cgroupsPath", c.CgroupsPath)
	w.key("hooks")
	w.hooks(&c.Hooks)
	if p := c.Process; p != nil {
		w.key("process")
		w.process(p)
	}
	w.strMap("annotations", c.Annotations)
	w.str("ociVersion", c.OCIVersion)
	w.close('}')
}

func (w *jsonWriter) mount(m *configs.Mount) {
	w.open('{')
	w.str("source", m.Source)
	w.str("destination", m.Destination)
	w.str("type", m.Type)
	w.uint("flags", uint64(m.Flags))
	w.uint("clearFlags", uint64(m.ClearFlags))
	w.key("propagationFlags")
	w.list(len(m.PropagationFlags), func(i int) { w.b = strconv.AppendUint(w.b, uint64(m.PropagationFlags[i]), 10) })
	w.str("data", m.Data)
	w.uint("recAttrSet", m.RecAttrSet)
	w.uint("recAttrClr", m.RecAttrClr)
	w.close('}')
}

func (w *jsonWriter) device(d *configs.Device) {
	w.open('{')
	w.str("path", d.Path)
	w.int("type", int64(d.Type))
	w.int("major", d.Major)
	w.int("minor", d.Minor)
	w.uint("fileMode", uint64(d.FileMode))
	w.uint("uid", uint64(d.UID))
	w.uint("gid", uint64(d.GID))
	w.close('}')
}

func (w *jsonWriter) hooks(h *configs.Hooks) {
	w.open('{')
	for _, kind := range []struct {
		name string
		list []configs.Hook
	}{
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	} {
		w.key(kind.name)
		w.list(len(kind.list), func(i int) {
			hook := &kind.list[i]
			w.open('{')
			w.str("path", hook.Path)
			w.strs("args", hook.Args)
			w.strs("env", hook.Env)
			if hook.Timeout != nil {
				w.int("timeout", int64(*hook.Timeout))
			}
			w.close('}')
		})
	}
	w.close('}')
}

func (w *jsonWriter) process(p *configs.Process) {
	w.open('{')
	w.strs("args", p.Args)
	w.strs("env", p.Env)
	w.str("cwd", p.Cwd)
	w.bool("terminal", p.Terminal)
	w.uint("consoleWidth", uint64(p.ConsoleWidth))
	w.uint("consoleHeight", uint64(p.ConsoleHeight))
	w.key("user")
	w.open('{')
	w.uint("uid", uint64(p.User.UID))
	w.uint("gid", uint64(p.User.GID))
	if p.User.Umask != nil {
		w.uint("umask", uint64(*p.User.Umask))
	}
	w.uint32s("additionalGids", p.User.AdditionalGids)
	w.str("username", p.User.Username)
	w.close('}')
	if c := p.Capabilities; c != nil {
		w.key("capabilities")
		w.open('{')
		w.ints("bounding", c.Bounding)
		w.ints("effective", c.Effective)
		w.ints("inheritable", c.Inheritable)
		w.ints("permitted", c.Permitted)
		w.ints("ambient", c.Ambient)
		w.close('}')
	}
	w.key("rlimits")
	w.list(len(p.Rlimits), func(i int) {
		w.open('{')
		w.int("type", int64(p.Rlimits[i].Type))
		w.uint("hard", p.Rlimits[i].Hard)
		w.uint("soft", p.Rlimits[i].Soft)
		w.close('}')
	})
	w.bool("noNewPrivileges", p.NoNewPrivileges)
	if p.OOMScoreAdj != nil {
		w.int("oomScoreAdj", int64(*p.OOMScoreAdj))
	}
	w.close('}')
}

func (w *jsonWriter) capSets(c nsenter.CapSets) {
	w.open('{')
	w.uint("Bounding", c.Bounding)
	w.uint("Effective", c.Effective)
	w.uint("Permitted", c.Permitted)
	w.uint("Inheritable", c.Inheritable)
	w.uint("Ambient", c.Ambient)
	w.close('}')
}

func (w *jsonWriter) idMaps(name string, maps []configs.IDMap) {
	w.key(name)
	w.list(len(maps), func(i int) {
		w.open('{')
		w.uint("containerID", uint64(maps[i].ContainerID))
		w.uint("hostID", uint64(maps[i].HostID))
		w.uint("size", uint64(maps[i].Size))
		w.close('}')
	})
}

// jsonWriter appends JSON to b. A nil slice or map is written as null, so
// that it decodes back to nil, and an empty one as [] or {}.
type jsonWriter struct {
	b []byte
	// first is true right after an opening bracket: no comma needed.
	first bool
}

func (w *jsonWriter) open(c byte) { w.b = append(w.b, c); w.first = true }

func (w *jsonWriter) close(c byte) { w.b = append(w.b, c); w.first = false }

func (w *jsonWriter) comma() {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
}

// key starts a member.
func (w *jsonWriter) key(name string) {
	w.comma()
	w.quote(name)
	w.b = append(w.b, ':')
}

func (w *jsonWriter) str(name, s string) { w.key(name); w.quote(s) }

func (w *jsonWriter) bool(name string, v bool) { w.key(name); w.b = strconv.AppendBool(w.b, v) }

func (w *jsonWriter) int(name string, v int64) { w.key(name); w.b = strconv.AppendInt(w.b, v, 10) }

func (w *jsonWriter) uint(name string, v uint64) { w.key(name); w.b = strconv.AppendUint(w.b, v, 10) }

// list writes n elements with element, or null for n == 0 when the
// caller's slice is nil: callers pass len() of slices that are nil or
// non-empty in practice, and an empty one decodes back as nil either way
// for the fields where that matters (see TestEncodeStateRoundTrips).
func (w *jsonWriter) list(n int, element func(i int)) {
	if n == 0 {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i := range n {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.first = false
		element(i)
	}
	w.b = append(w.b, ']')
	w.first = false
}

func (w *jsonWriter) strs(name string, list []string) { array(w, name, list, w.quote) }

func (w *jsonWriter) ints(name string, list []int) {
	array(w, name, list, func(v int) { w.b = strconv.AppendInt(w.b, int64(v), 10) })
}

func (w *jsonWriter) uint32s(name string, list []uint32) {
	array(w, name, list, func(v uint32) { w.b = strconv.AppendUint(w.b, uint64(v), 10) })
}

// array writes the member name with list as a JSON array of scalars, each
// written by elem; a nil list as null.
func array[T any](w *jsonWriter, name string, list []T, elem func(T)) {
	w.key(name)
	if list == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = append(w.b, '[')
	for i, v := range list {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		elem(v)
	}
	w.b = append(w.b, ']')
}

// strMap writes m with sorted keys, as encoding/json does; an empty map
// as null, which reads back nil as the omitted member of json.Marshal did.
func (w *jsonWriter) strMap(name string, m map[string]string) {
	w.key(name)
	if len(m) == 0 {
		w.b = append(w.b, "null"...)
		return
	}
	w.open('{')
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.str(k, m[k])
	}
	w.close('}')
}

// quote appends s as a JSON string. Invalid UTF-8 is written as U+FFFD,
// as encoding/json does.
func (w *jsonWriter) quote(s string) {
	const hex = "0123456789abcdef"
	w.b = append(w.b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				w.b = append(w.b, '\\', c)
			case c < 0x20:
				w.b = append(w.b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				w.b = append(w.b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.b = append(w.b, `\ufffd`...)
		} else {
			w.b = append(w.b, s[i:i+size]...)
		}
		i += size
	}
	w.b = append(w.b, '"')
}
