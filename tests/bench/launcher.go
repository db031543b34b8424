package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Why a launcher: a child's ru_maxrss can never be below the RSS of the
// process that forked it. fork copies the parent's page tables and with
// them its RSS into the child's high-water mark, vfork (os/exec) lends the
// parent's mm, and execve records the old mm's high-water mark in the
// child's maxrss. Started by the bench with os/exec, every runtime would
// show at least the bench's peak RSS: crun's 3 MiB `--version` read as
// 4.5 MiB. So each measured command is started by a fresh, idle copy of
// this program that really forks (forkExec: the child's mm starts with only
// the anonymous and written pages fork copies, not the mapped text), waits,
// and reports the command's rusage. Its anonymous RSS then, about
// what the fork copies, is reported as maxrss_floor: maxrss figures near it
// say little.

// envLauncher makes this program a launcher; its result goes to fd 3.
const envLauncher = "HUSK_BENCH_LAUNCH"

// launchResult is what a launcher reports about the command it ran.
type launchResult struct {
	UserNs     int64  `json:"userNs"`
	SysNs      int64  `json:"sysNs"`
	MaxRSSKiB  int64  `json:"maxrssKiB"`
	WallNs     int64  `json:"wallNs"`
	FloorKiB   int64  `json:"floorKiB"`
	ExitStatus int    `json:"exitStatus"`
	Error      string `json:"error,omitempty"`
}

func (l launchResult) cpu() cpuTimes {
	return cpuTimes{user: duration(l.UserNs), sys: duration(l.SysNs)}
}

func (l launchResult) wall() time.Duration { return time.Duration(l.WallNs) }

// runLauncher runs argv and writes a launchResult to fd 3. CPU time is
// that of the whole tree below the command: the command reaps its own
// children, and the launcher, a child subreaper, reaps those orphaned
// below it that have exited by the time the command has. A process still
// running then (a container's init after `create`) passes on to the bench.
func runLauncher(argv []string) int {
	result := os.NewFile(3, "launch-result")
	// os/exec passed it open across exec; the command must not get it.
	unix.CloseOnExec(3)
	res := launch(argv)
	if err := json.NewEncoder(result).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "bench launcher: write result:", err)
		return 1
	}
	return 0
}

func launch(argv []string) launchResult {
	if len(argv) == 0 {
		return launchResult{Error: "nothing to launch"}
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return launchResult{Error: "become child subreaper: " + err.Error()}
	}
	self, err := readProcStatus(os.Getpid())
	if err != nil {
		return launchResult{Error: "own status: " + err.Error()}
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HUSK_BENCH_") {
			env = append(env, kv)
		}
	}
	start := time.Now()
	pid, err := forkExec(argv, env)
	if err != nil {
		return launchResult{Error: fmt.Sprintf("start %s: %v", argv[0], err)}
	}
	var ws unix.WaitStatus
	var ru unix.Rusage
	for {
		_, err = unix.Wait4(pid, &ws, 0, &ru)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	wall := time.Since(start)
	if err != nil {
		return launchResult{Error: fmt.Sprintf("wait for %s: %v", argv[0], err)}
	}
	res := launchResult{
		UserNs:     ru.Utime.Nano(),
		SysNs:      ru.Stime.Nano(),
		MaxRSSKiB:  ru.Maxrss,
		WallNs:     int64(wall),
		FloorKiB:   self.rssAnonKiB,
		ExitStatus: exitStatus(ws),
	}
	orphans := reapOrphans()
	res.UserNs += int64(orphans.cpu.user)
	res.SysNs += int64(orphans.cpu.sys)
	res.MaxRSSKiB = max(res.MaxRSSKiB, orphans.maxRSSKiB)
	return res
}

// exitStatus is the shell's view of a wait status: the exit code, or
// 128+N after signal N.
func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
