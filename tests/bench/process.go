package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// processRunner runs the runtimes' commands one at a time, each through a
// launcher (launcher.go), with stdin /dev/null and stdout+stderr in a log
// file. A file, not a pipe: after `create`, the container's init keeps the
// command's stdout open until it exits, and waiting for a pipe's EOF would
// wait for `start`.
type processRunner struct {
	self    string
	devNull *os.File
	log     *os.File
	result  *os.File
}

func newProcessRunner(workDir string) (*processRunner, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	p := &processRunner{self: self}
	if p.devNull, err = os.Open(os.DevNull); err != nil {
		return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
	}
	if p.log, err = os.Create(filepath.Join(workDir, "runtime.log")); err != nil {
		p.close()
		return nil, fmt.Errorf("create runtime log: %w", err)
	}
	if p.result, err = os.Create(filepath.Join(workDir, "launch-result.json")); err != nil {
		p.close()
		return nil, fmt.Errorf("create launcher result file: %w", err)
	}
	return p, nil
}

func (p *processRunner) close() {
	for _, f := range []*os.File{p.devNull, p.log, p.result} {
		if f != nil {
			f.Close()
		}
	}
}

// run runs argv to completion through a launcher and returns what the
// launcher measured; a non-zero exit is an error that quotes the log.
func (p *processRunner) run(argv []string) (launchResult, error) {
	for _, f := range []*os.File{p.log, p.result} {
		if err := f.Truncate(0); err != nil {
			return launchResult{}, fmt.Errorf("truncate %s: %w", f.Name(), err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return launchResult{}, fmt.Errorf("rewind %s: %w", f.Name(), err)
		}
	}
	cmd := exec.Command(p.self, argv...)
	cmd.Env = append(os.Environ(), envLauncher+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.devNull, p.log, p.log
	cmd.ExtraFiles = []*os.File{p.result}
	runErr := cmd.Run()
	data, err := os.ReadFile(p.result.Name())
	if err != nil {
		return launchResult{}, fmt.Errorf("read launcher result: %w", err)
	}
	var res launchResult
	if err := json.Unmarshal(data, &res); err != nil {
		return launchResult{}, fmt.Errorf("launcher of %s: %v; result %q: %w", argv[0], runErr, data, err)
	}
	if res.Error == "" && res.ExitStatus != 0 {
		res.Error = fmt.Sprintf("exit status %d", res.ExitStatus)
	}
	if res.Error != "" {
		out, _ := os.ReadFile(p.log.Name())
		return res, fmt.Errorf("%s: %s: %s", strings.Join(argv, " "), res.Error, strings.TrimSpace(string(out)))
	}
	return res, nil
}

// becomeSubreaper makes processes orphaned below this one (a container
// init after `create` exits, helpers a runtime does not wait for) its
// children, so that their CPU time is counted when they are reaped.
func becomeSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("become child subreaper: %w", err)
	}
	return nil
}

// reaped is what reaping some processes found: their CPU times and the
// largest ru_maxrss.
type reaped struct {
	cpu       cpuTimes
	maxRSSKiB int64
}

func (r *reaped) add(ru *unix.Rusage) {
	r.cpu.user += duration(ru.Utime.Nano())
	r.cpu.sys += duration(ru.Stime.Nano())
	r.maxRSSKiB = max(r.maxRSSKiB, ru.Maxrss)
}

// reapOrphans reaps every child that has exited. It is called only when no
// command started with os/exec is running, so it never takes an exit
// status that os/exec waits for.
func reapOrphans() reaped {
	var r reaped
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG|unix.WALL, &ru)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return r
		}
		r.add(&ru)
	}
}

// waitGone waits until a container's init has exited and returns its
// rusage when it was a child of this process (the usual case: see
// becomeSubreaper); otherwise its CPU time cannot be known here.
func waitGone(pid int, timeout time.Duration) (reaped, bool, error) {
	var r reaped
	if ppid, err := parentPid(pid); err == nil && ppid == os.Getpid() {
		for {
			var ws unix.WaitStatus
			var ru unix.Rusage
			_, err := unix.Wait4(pid, &ws, unix.WALL, &ru)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				return r, false, fmt.Errorf("wait for init %d: %w", pid, err)
			}
			r.add(&ru)
			return r, true, nil
		}
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		state, err := procState(pid)
		if err != nil || state == 'Z' || state == 'X' {
			return r, false, nil
		}
		time.Sleep(time.Millisecond)
	}
	return r, false, fmt.Errorf("init %d still runs after %v", pid, timeout)
}

// procStat returns the state and parent pid fields of /proc/PID/stat.
func procStat(pid int) (state byte, ppid int, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	ppid, err = strconv.Atoi(fields[1])
	if err != nil {
		return 0, 0, fmt.Errorf("parent pid in /proc/%d/stat: %w", pid, err)
	}
	return fields[0][0], ppid, nil
}

func procState(pid int) (byte, error) {
	state, _, err := procStat(pid)
	return state, err
}

func parentPid(pid int) (int, error) {
	_, ppid, err := procStat(pid)
	return ppid, err
}

// procStatus is what the bench reads from /proc/PID/status.
type procStatus struct {
	name                           string
	hwmKiB, rssAnonKiB, rssFileKiB int64
}

func readProcStatus(pid int) (procStatus, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return procStatus{}, err
	}
	defer f.Close()
	var st procStatus
	fields := map[string]*int64{"VmHWM:": &st.hwmKiB, "RssAnon:": &st.rssAnonKiB, "RssFile:": &st.rssFileKiB}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) < 2 {
			continue
		}
		if parts[0] == "Name:" {
			st.name = parts[1]
			continue
		}
		if dst, ok := fields[parts[0]]; ok {
			v, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				return procStatus{}, fmt.Errorf("%s %q: %w", parts[0], parts[1], err)
			}
			*dst = v
		}
	}
	if err := sc.Err(); err != nil {
		return procStatus{}, err
	}
	if st.hwmKiB == 0 {
		return procStatus{}, errors.New("no VmHWM (the process has no memory map: a zombie?)")
	}
	return st, nil
}

// cpuTimes is user and system CPU time.
type cpuTimes struct{ user, sys duration }

// duration is a time.Duration that prints as milliseconds.
type duration time.Duration

func (d duration) ms() float64 { return float64(d) / float64(time.Millisecond) }

func (c cpuTimes) total() duration { return c.user + c.sys }

func (c cpuTimes) add(o cpuTimes) cpuTimes { return cpuTimes{c.user + o.user, c.sys + o.sys} }
