// Command bench measures what one container costs with husk, runc and crun:
// CPU time, wall time and peak RSS of `run` of /bin/true, of the
// create+start+delete lifecycle, and of `--version` (the runtime's bare
// start-up), plus the cost of sealing husk's C init and the binaries' sizes.
// `make bench` runs it; docs/performance.md explains the method and the
// figures. It needs root.
//
// All runtimes run the same bundle, interleaved iteration by iteration so
// that machine noise spreads evenly, inside a private mount namespace whose
// /sys/fs/cgroup shows only the cgroup v1 hierarchies (crun refuses hybrid
// hosts). Containers get cgroups under /husk-bench/ only, which the bench
// removes again. CPU time is the stable figure; wall times on a small,
// shared machine are noisy.
//
// Each measured command is started by a small launcher (launcher.go) so
// that its peak RSS is not inflated by the bench's own, and the bench is a
// child subreaper, so that processes a runtime leaves behind (a container's
// init after `create`) are reaped, and their CPU time counted, here.
//
// It is a benchmark, not a test: it fails only when a runtime fails to run
// the container, never because a figure is over a target.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// options are the command-line settings of one benchmark run.
type options struct {
	husk     string
	runc     string
	crun     string
	mkbundle string
	out      string
	n        int
	warmup   int
	sealN    int
}

func main() {
	// First, before anything allocates: a launcher must stay small.
	if os.Getenv(envLauncher) != "" {
		os.Exit(runLauncher(os.Args[1:]))
	}
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	opts, err := parseOptions(args)
	if err != nil {
		return err
	}
	if os.Getenv(envChild) != "" {
		return runChild(opts)
	}
	return runParent(opts, args)
}

func parseOptions(args []string) (options, error) {
	defaultN := 50
	if s := os.Getenv("BENCH_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return options{}, fmt.Errorf("BENCH_N=%q: want a positive integer", s)
		}
		defaultN = n
	}
	var o options
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&o.husk, "husk", "./husk", "husk binary to measure")
	fs.StringVar(&o.runc, "runc", "runc", "runc binary (skipped if not found)")
	fs.StringVar(&o.crun, "crun", "crun", "crun binary (skipped if not found)")
	fs.StringVar(&o.mkbundle, "mkbundle", "tests/bundle/mkbundle.sh", "script that makes the busybox bundle")
	fs.StringVar(&o.out, "out", "bench-results.json", "file the results are written to as JSON (its directory is made)")
	fs.IntVar(&o.n, "n", defaultN, "measured iterations per runtime and benchmark (default: $BENCH_N or 50)")
	fs.IntVar(&o.warmup, "warmup", 3, "unmeasured iterations per runtime first")
	fs.IntVar(&o.sealN, "seal-n", 200, "iterations of the sealing micro-benchmark")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if o.n < 1 || o.warmup < 0 || o.sealN < 1 {
		return options{}, errors.New("-n and -seal-n must be positive, -warmup not negative")
	}
	return o, nil
}

// runParent re-executes the bench in a private mount namespace, where the
// measurements run, and afterwards removes any cgroup a runtime left under
// /husk-bench in the host's view (which includes the cgroup2 hierarchy the
// child does not see).
func runParent(opts options, args []string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root: the runtimes create namespaces and cgroups")
	}
	mntNS, err := mountNamespaceID()
	if err != nil {
		return err
	}
	workDir, err := os.MkdirTemp("", "husk-bench.")
	if err != nil {
		return fmt.Errorf("make work dir: %w", err)
	}
	defer os.RemoveAll(workDir)

	// Ctrl-C reaches the whole process group: the child stops, and this
	// process stays to remove the cgroups.
	interrupts := make(chan os.Signal, 1)
	signal.Notify(interrupts, unix.SIGINT, unix.SIGTERM)
	defer signal.Stop(interrupts)

	childErr := startChildInPrivateMountNS(args, workDir, mntNS)
	cleanErr := removeBenchCgroups(benchTag(workDir), false)
	if childErr != nil {
		return childErr
	}
	if cleanErr != nil {
		return fmt.Errorf("remove benchmark cgroups: %w", cleanErr)
	}
	return nil
}

// runChild is the benchmark proper, in the private mount namespace.
func runChild(opts options) error {
	workDir := os.Getenv(envWorkDir)
	if workDir == "" {
		return fmt.Errorf("%s is not set", envWorkDir)
	}
	if err := mountWorkTmpfs(workDir, os.Getenv(envParentMountNS)); err != nil {
		return err
	}
	view, err := prepareCgroupView(os.Getenv(envParentMountNS), filepath.Join(workDir, "cgroup-view"))
	if err != nil {
		return err
	}
	runtimes, err := findRuntimes(opts, workDir)
	if err != nil {
		return err
	}
	b, err := makeBundle(opts, workDir)
	if err != nil {
		return err
	}
	if err := becomeSubreaper(); err != nil {
		return err
	}
	res := newResults(opts, view, runtimes)
	if err := measureAll(opts, b, runtimes, res); err != nil {
		removeBenchCgroups(b.tag, false)
		return err
	}
	if err := removeBenchCgroups(b.tag, false); err != nil {
		return fmt.Errorf("remove benchmark cgroups: %w", err)
	}
	if res.Seal, err = measureSealing(opts.sealN); err != nil {
		return err
	}
	res.summarise()
	res.printTable(os.Stdout)
	if err := res.writeJSON(opts.out); err != nil {
		return err
	}
	fmt.Printf("\nresults written to %s\n", opts.out)
	return nil
}

// lookPathOrEmpty returns the absolute path of a program, or "" when it is
// not installed.
func lookPathOrEmpty(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}
