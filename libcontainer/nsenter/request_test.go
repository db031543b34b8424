package nsenter

import (
	"slices"
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

func TestRequestEnv(t *testing.T) {
	umask022 := uint32(0o22)
	tests := []struct {
		name string
		req  Request
		want []string
	}{{
		name: "minimal",
		req:  Request{SyncFD: 3},
		want: []string{"_HUSK_NSENTER=1", "_HUSK_SYNCFD=3"},
	}, {
		name: "everything",
		req: Request{
			SyncFD:      5,
			JoinFDs:     []int{6, 7},
			Unshare:     unix.CLONE_NEWUTS | unix.CLONE_NEWPID,
			Fork:        true,
			TimeOffsets: "monotonic 5 0\n",
		},
		want: []string{
			"_HUSK_NSENTER=1", "_HUSK_SYNCFD=5", "_HUSK_SETNS=6,7",
			"_HUSK_UNSHARE=603979776", "_HUSK_FORK=1", "_HUSK_TIMENS_OFFSETS=monotonic 5 0\n",
		},
	}, {
		name: "exec mode without sync fd",
		req:  Request{SyncFD: -1, JoinFDs: []int{3}, Exec: true},
		want: []string{"_HUSK_NSENTER=1", "_HUSK_SETNS=3", "_HUSK_EXEC=1"},
	}, {
		name: "exec mode with sync fd",
		req:  Request{SyncFD: 4, Exec: true, Fork: true},
		want: []string{"_HUSK_NSENTER=1", "_HUSK_SYNCFD=4", "_HUSK_FORK=1", "_HUSK_EXEC=1"},
	}, {
		name: "exec mode with root and credentials",
		req: Request{SyncFD: -1, Exec: true, Chroot: "/run/rootfs", Creds: &ExecCreds{
			UID: 1000, GID: 1001, AdditionalGids: []uint32{10, 20},
			Caps: CapSets{
				Bounding: 1<<40 | 1, Effective: 2, Permitted: 3, Inheritable: 4, Ambient: 1<<64 - 1,
			},
			LastCap: 40, NoNewPrivileges: true,
		}},
		want: []string{
			"_HUSK_NSENTER=1", "_HUSK_EXEC=1", "_HUSK_CHROOT=/run/rootfs",
			"_HUSK_EXEC_CREDS=1000 1001 1 40 1099511627777 2 3 4 18446744073709551615 2 10 20",
		},
	}, {
		name: "exec mode with rlimits, umask and cwd",
		req: Request{SyncFD: -1, Exec: true, Umask: &umask022, Cwd: "/work",
			Rlimits: []Rlimit{{Type: 7, Soft: 123, Hard: 1<<64 - 1}, {Type: 3, Soft: 0, Hard: 8}}},
		want: []string{
			"_HUSK_NSENTER=1", "_HUSK_EXEC=1",
			"_HUSK_EXEC_RLIMITS=7 123 18446744073709551615 3 0 8", "_HUSK_EXEC_UMASK=18", "_HUSK_EXEC_CWD=/work",
		},
	}, {
		name: "umask 0 is set",
		req:  Request{SyncFD: -1, Exec: true, Umask: new(uint32)},
		want: []string{"_HUSK_NSENTER=1", "_HUSK_EXEC=1", "_HUSK_EXEC_UMASK=0"},
	}, {
		name: "credentials without groups",
		req:  Request{SyncFD: -1, Exec: true, Creds: &ExecCreds{LastCap: 40}},
		want: []string{"_HUSK_NSENTER=1", "_HUSK_EXEC=1", "_HUSK_EXEC_CREDS=0 0 0 40 0 0 0 0 0 0"},
	}}
	for _, tt := range tests {
		if got := tt.req.Env(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Env() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestFormatTimeOffsets(t *testing.T) {
	got := FormatTimeOffsets(map[string]configs.TimeOffset{
		"monotonic": {Secs: 5, Nanosecs: 7},
		"boottime":  {Secs: -10},
	})
	if want := "boottime -10 0\nmonotonic 5 7\n"; got != want {
		t.Errorf("FormatTimeOffsets = %q, want %q", got, want)
	}
	if got := FormatTimeOffsets(nil); got != "" {
		t.Errorf("FormatTimeOffsets(nil) = %q, want empty", got)
	}
}
