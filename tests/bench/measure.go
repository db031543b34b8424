package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Benchmarks, in table order.
const (
	benchRun       = "run"
	benchLifecycle = "lifecycle"
	benchVersion   = "version"
)

// sample is the metrics of one iteration, by metric name.
type sample map[string]float64

// measureAll runs opts.warmup unmeasured and opts.n measured iterations.
// Each iteration runs every runtime once per benchmark; the runtimes' order
// rotates from one iteration to the next, so that none always runs right
// after another one's (cache, scheduler) leftovers.
func measureAll(opts options, b *bundle, runtimes []runtime, res *results) error {
	workDir := filepath.Dir(b.dir)
	p, err := newProcessRunner(workDir)
	if err != nil {
		return err
	}
	defer p.close()
	pidFile := filepath.Join(workDir, "init.pid")
	total := opts.warmup + opts.n
	for it := 0; it < total; it++ {
		measured := it >= opts.warmup
		order := rotate(runtimes, it)
		for _, r := range order {
			s, err := measureRun(p, r, b, it)
			if err != nil {
				return fmt.Errorf("%s run (iteration %d): %w", r.name, it, err)
			}
			if measured {
				res.add(benchRun, r.name, s)
			}
		}
		for _, r := range order {
			if r.floor {
				continue
			}
			s, initName, err := measureLifecycle(p, r, b, it, pidFile)
			if err != nil {
				return fmt.Errorf("%s create+start+delete (iteration %d): %w", r.name, it, err)
			}
			if measured {
				res.add(benchLifecycle, r.name, s)
				res.setInitName(r.name, initName)
			}
		}
		for _, r := range order {
			if r.floor || r.sameBinary {
				continue
			}
			s, err := measureVersion(p, r)
			if err != nil {
				return fmt.Errorf("%s --version: %w", r.name, err)
			}
			if measured {
				res.add(benchVersion, r.name, s)
			}
		}
		if err := removeBenchCgroups(b.tag, true); err != nil {
			return fmt.Errorf("remove benchmark cgroups: %w", err)
		}
	}
	return nil
}

func rotate(rs []runtime, by int) []runtime {
	k := by % len(rs)
	return append(append([]runtime{}, rs[k:]...), rs[:k]...)
}

// measureRun: `RUNTIME run` of /bin/true in the foreground. CPU is that of
// the whole tree: the runtime reaps its helpers and the container's init
// (its child), so their times are in its rusage; the launcher reaps what
// is orphaned below it, and this process (a subreaper) anything else.
func measureRun(p *processRunner, r runtime, b *bundle, it int) (sample, error) {
	id := "bench-run-" + strconv.Itoa(it)
	argv := r.ociCommand("run", "--bundle", b.dir, id)
	if r.floor {
		argv = []string{r.path, "--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--mount-proc",
			"chroot", b.rootfs, "/bin/true"}
	} else if err := b.useCgroupsPath(cgroupsPathFor(b.tag, r.name, it)); err != nil {
		return nil, err
	}
	res, err := p.run(argv)
	stray := reapOrphans()
	if err != nil {
		if !r.floor {
			p.run(r.ociCommand("delete", "--force", id))
			reapOrphans()
		}
		return nil, err
	}
	cpu := res.cpu().add(stray.cpu)
	return sample{
		"cpu_ms":           cpu.total().ms(),
		"user_ms":          cpu.user.ms(),
		"sys_ms":           cpu.sys.ms(),
		"wall_ms":          msOf(res.wall()),
		"maxrss_kib":       float64(max(res.MaxRSSKiB, stray.maxRSSKiB)),
		"maxrss_floor_kib": float64(res.FloorKiB),
	}, nil
}

// measureLifecycle: create, then the init's memory while it waits for
// start, then start, wait for the workload to exit, delete. The init is
// orphaned when create exits, so it is reparented here and its CPU time is
// known when it is reaped. It also returns the init's process name.
func measureLifecycle(p *processRunner, r runtime, b *bundle, it int, pidFile string) (sample, string, error) {
	id := "bench-lc-" + strconv.Itoa(it)
	if err := b.useCgroupsPath(cgroupsPathFor(b.tag, r.name+"-lc", it)); err != nil {
		return nil, "", err
	}
	os.Remove(pidFile)
	fail := func(err error) (sample, string, error) {
		p.run(r.ociCommand("delete", "--force", id))
		reapOrphans()
		return nil, "", err
	}
	create, err := p.run(r.ociCommand("create", "--bundle", b.dir, "--pid-file", pidFile, id))
	if err != nil {
		return fail(err)
	}
	pid, err := readPidFile(pidFile)
	if err != nil {
		return fail(err)
	}
	st, err := readProcStatus(pid)
	if err != nil {
		return fail(fmt.Errorf("init (pid %d) status: %w", pid, err))
	}
	started, err := p.run(r.ociCommand("start", id))
	if err != nil {
		return fail(err)
	}
	waitStart := time.Now()
	initReaped, reapedHere, err := waitGone(pid, 10*time.Second)
	if err != nil {
		return fail(err)
	}
	waitWall := time.Since(waitStart)
	if !reapedHere {
		return fail(fmt.Errorf("init %d was not reparented to the bench: its CPU time is unknown", pid))
	}
	deleted, err := p.run(r.ociCommand("delete", id))
	if err != nil {
		return fail(err)
	}
	stray := reapOrphans()

	initCPU := initReaped.cpu.add(stray.cpu)
	cpu := create.cpu().add(started.cpu()).add(deleted.cpu()).add(initCPU)
	s := sample{
		"cpu_ms":            cpu.total().ms(),
		"create_cpu_ms":     create.cpu().total().ms(),
		"start_cpu_ms":      started.cpu().total().ms(),
		"delete_cpu_ms":     deleted.cpu().total().ms(),
		"init_cpu_ms":       initCPU.total().ms(),
		"wall_ms":           msOf(create.wall() + started.wall() + waitWall + deleted.wall()),
		"create_maxrss_kib": float64(create.MaxRSSKiB),
		"start_maxrss_kib":  float64(started.MaxRSSKiB),
		"delete_maxrss_kib": float64(deleted.MaxRSSKiB),
		"init_hwm_kib":      float64(st.hwmKiB),
		"init_rss_anon_kib": float64(st.rssAnonKiB),
		"init_rss_file_kib": float64(st.rssFileKiB),
		"maxrss_floor_kib":  float64(max(create.FloorKiB, started.FloorKiB, deleted.FloorKiB)),
	}
	s["peak_rss_kib"] = max(s["create_maxrss_kib"], s["start_maxrss_kib"], s["delete_maxrss_kib"], s["init_hwm_kib"])
	return s, st.name, nil
}

// measureVersion: `RUNTIME --version`, the cost of starting the binary
// and doing next to nothing.
func measureVersion(p *processRunner, r runtime) (sample, error) {
	res, err := p.run([]string{r.path, "--version"})
	stray := reapOrphans()
	if err != nil {
		return nil, err
	}
	return sample{
		"cpu_ms":           res.cpu().add(stray.cpu).total().ms(),
		"wall_ms":          msOf(res.wall()),
		"maxrss_kib":       float64(res.MaxRSSKiB),
		"maxrss_floor_kib": float64(res.FloorKiB),
	}, nil
}

func readPidFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s holds %q", path, data)
	}
	return pid, nil
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
