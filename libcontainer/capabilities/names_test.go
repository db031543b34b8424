package capabilities

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNameNumberRoundTrip(t *testing.T) {
	names := Names()
	if len(names) != unix.CAP_CHECKPOINT_RESTORE+1 {
		t.Fatalf("Names() has %d entries, want %d", len(names), unix.CAP_CHECKPOINT_RESTORE+1)
	}
	seen := map[string]bool{}
	for n, name := range names {
		if !strings.HasPrefix(name, "CAP_") || seen[name] {
			t.Errorf("capability %d has bad or duplicate name %q", n, name)
		}
		seen[name] = true
		if got, ok := Number(name); !ok || got != n {
			t.Errorf("Number(%q) = %d, %v; want %d, true", name, got, ok, n)
		}
	}
}

func TestNameKnownAndUnknown(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{
		{unix.CAP_CHOWN, "CAP_CHOWN"},
		{unix.CAP_NET_RAW, "CAP_NET_RAW"},
		{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
		{unix.CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE"},
		{unix.CAP_CHECKPOINT_RESTORE + 1, "capability 41"},
		{-1, "capability -1"},
	}
	for _, tt := range tests {
		if got := Name(tt.n); got != tt.want {
			t.Errorf("Name(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	for _, name := range []string{"", "NET_RAW", "cap_net_raw", "CAP_BOGUS"} {
		if n, ok := Number(name); ok {
			t.Errorf("Number(%q) = %d, true; want not found", name, n)
		}
	}
}

func TestLastCapMatchesProbe(t *testing.T) {
	last, err := LastCap()
	if err != nil {
		t.Fatal(err)
	}
	probed, err := probeLastCap()
	if err != nil {
		t.Fatal(err)
	}
	if last != probed {
		t.Errorf("LastCap() = %d, probing PR_CAPBSET_READ gives %d", last, probed)
	}
	if last < unix.CAP_AUDIT_READ {
		t.Errorf("LastCap() = %d, implausibly low for a kernel with ambient capabilities", last)
	}
}
