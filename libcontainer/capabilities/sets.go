package capabilities

import (
	"fmt"

	"github.com/huskrt/husk/libcontainer/configs"
)

// Sets holds the five capability sets of a process as bit masks (bit n is
// capability n).
type Sets struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// ToSets turns the configured sets into masks for a kernel whose highest
// capability is lastCap. A nil caps means every set is empty, even for uid
// 0. Capabilities above lastCap are skipped, so a config written for a
// newer kernel still runs; a negative number is an error.
func ToSets(caps *configs.Capabilities, lastCap int) (Sets, error) {
	var sets Sets
	if caps == nil {
		return sets, nil
	}
	for _, set := range []struct {
		name string
		caps []int
		mask *uint64
	}{
		{"bounding", caps.Bounding, &sets.Bounding},
		{"effective", caps.Effective, &sets.Effective},
		{"permitted", caps.Permitted, &sets.Permitted},
		{"inheritable", caps.Inheritable, &sets.Inheritable},
		{"ambient", caps.Ambient, &sets.Ambient},
	} {
		for _, c := range set.caps {
			if c < 0 {
				return Sets{}, fmt.Errorf("capabilities: invalid capability number %d in %s set", c, set.name)
			}
			if c > lastCap || c > 63 {
				continue
			}
			*set.mask |= 1 << uint(c)
		}
	}
	return sets, nil
}
