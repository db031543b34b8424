package configs

import (
	"os"
	"testing"
)

func TestNamespaceKinds(t *testing.T) {
	seen := map[uintptr]bool{}
	for _, ns := range AllNamespaceTypes() {
		flag, name := ns.CloneFlag(), ns.ProcName()
		if flag == 0 || name == "" || seen[flag] {
			t.Errorf("%s: flag %#x name %q", ns, flag, name)
		}
		seen[flag] = true
		if _, err := os.Stat("/proc/self/ns/" + name); err != nil {
			t.Errorf("%s: /proc/self/ns/%s: %v", ns, name, err)
		}
	}
	if NamespaceType("bogus").CloneFlag() != 0 {
		t.Error("unknown type has a clone flag")
	}
}
