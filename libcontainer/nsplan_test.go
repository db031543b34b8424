package libcontainer

import (
	"testing"

	"github.com/huskrt/husk/libcontainer/configs"
	"golang.org/x/sys/unix"
)

// TestPlanNamespaces checks where each namespace is made or joined; the
// joined files are this process's own, which is enough to plan.
func TestPlanNamespaces(t *testing.T) {
	self := func(name string) string { return "/proc/self/ns/" + name }
	for _, tc := range []struct {
		name        string
		ns          []configs.Namespace
		clone       uintptr
		unshare     uintptr
		fork        bool
		cJoins      int
		threadJoins int
	}{
		{"all new, no time", []configs.Namespace{{Type: configs.NEWPID}, {Type: configs.NEWNS}, {Type: configs.NEWNET}},
			unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET, 0, false, 0, 0},
		{"new time moves pid to the bootstrap", []configs.Namespace{{Type: configs.NEWPID}, {Type: configs.NEWNS}, {Type: configs.NEWTIME}},
			unix.CLONE_NEWNS, unix.CLONE_NEWPID | unix.CLONE_NEWTIME, true, 0, 0},
		{"joined pid alone is a thread join", []configs.Namespace{{Type: configs.NEWPID, Path: self("pid")}, {Type: configs.NEWNS}},
			unix.CLONE_NEWNS, 0, false, 0, 1},
		{"joined pid with new time joins in the bootstrap", []configs.Namespace{{Type: configs.NEWPID, Path: self("pid")}, {Type: configs.NEWNS}, {Type: configs.NEWTIME}},
			unix.CLONE_NEWNS, unix.CLONE_NEWTIME, true, 1, 0},
		{"joined time forks", []configs.Namespace{{Type: configs.NEWTIME, Path: self("time")}, {Type: configs.NEWNS}, {Type: configs.NEWNET, Path: self("net")}},
			unix.CLONE_NEWNS, 0, true, 1, 1},
		{"joined user unshares the rest", []configs.Namespace{{Type: configs.NEWUSER, Path: self("user")}, {Type: configs.NEWNS}, {Type: configs.NEWUTS}},
			0, unix.CLONE_NEWNS | unix.CLONE_NEWUTS, false, 1, 0},
		{"joined user with new pid forks", []configs.Namespace{{Type: configs.NEWUSER, Path: self("user")}, {Type: configs.NEWPID}},
			0, unix.CLONE_NEWPID, true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := planNamespaces(&configs.Config{Namespaces: tc.ns})
			if err != nil {
				t.Fatal(err)
			}
			defer plan.close()
			if plan.cloneFlags != tc.clone || plan.cUnshare != tc.unshare || plan.cFork != tc.fork ||
				len(plan.cJoins) != tc.cJoins || len(plan.threadJoins) != tc.threadJoins {
				t.Fatalf("plan: clone %#x unshare %#x fork %v cJoins %d threadJoins %d; want %#x %#x %v %d %d",
					plan.cloneFlags, plan.cUnshare, plan.cFork, len(plan.cJoins), len(plan.threadJoins),
					tc.clone, tc.unshare, tc.fork, tc.cJoins, tc.threadJoins)
			}
		})
	}
}

func TestPlanRejectsWrongNamespaceType(t *testing.T) {
	_, err := planNamespaces(&configs.Config{Namespaces: []configs.Namespace{{Type: configs.NEWNET, Path: "/proc/self/ns/uts"}}})
	if err == nil {
		t.Fatal("a uts namespace file was accepted as a network namespace")
	}
}

func TestPlanRejectsJoinedPidWithNewUserAndTime(t *testing.T) {
	_, err := planNamespaces(&configs.Config{Namespaces: []configs.Namespace{
		{Type: configs.NEWPID, Path: "/proc/self/ns/pid"}, {Type: configs.NEWUSER}, {Type: configs.NEWTIME},
	}})
	if err == nil {
		t.Fatal("the bootstrap would setns into the pid namespace from a user namespace without rights over it")
	}
}
