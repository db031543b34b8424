package capabilities

import (
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
)

func TestToSets(t *testing.T) {
	caps := &configs.Capabilities{
		Bounding:  []int{0, 21, 40},
		Effective: []int{21},
		Permitted: []int{21, 63},
		Ambient:   []int{1},
	}
	got, err := ToSets(caps, 40)
	if err != nil {
		t.Fatal(err)
	}
	want := Sets{Bounding: 1 | 1<<21 | 1<<40, Effective: 1 << 21, Permitted: 1 << 21, Ambient: 1 << 1}
	if got != want {
		t.Fatalf("ToSets = %+v, want %+v (capabilities above lastCap dropped)", got, want)
	}
	if got, err := ToSets(nil, 40); err != nil || got != (Sets{}) {
		t.Fatalf("ToSets(nil) = %+v, %v; want empty sets", got, err)
	}
	if _, err := ToSets(&configs.Capabilities{Inheritable: []int{-1}}, 40); err == nil {
		t.Fatal("ToSets accepted capability -1")
	}
}
