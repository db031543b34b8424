// Command runner runs the OCI runtime-tools validation programs
// (github.com/opencontainers/runtime-tools/validation/*) against a runtime
// and prints one row per program plus a closing "N passed, N failed" line.
//
// Each program runs in its own scratch directory, in a private mount
// namespace, with a runtime wrapper that pins a private --root, under a
// timeout; its TAP 13 output is parsed here (see tap.go for the suite's
// quirks). It needs root. It is a test harness for `make conformance`, not
// a general TAP runner: programs that create cgroups are left out unless
// -all is given.
//
// It exits 1 when a program failed; with -check FILE (make
// conformance-check) it instead compares each result with the expectations
// file and exits 1 only on a regression or an unexplained result (see
// check.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	suite
	pattern *regexp.Regexp
	all     bool
	jobs    int
	list    bool
	// expectedPath, with -check, names the expectations file; expected is
	// what it says. The exit status then comes from the check.
	expectedPath string
	expected     expectations
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := run(ctx, opts, os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "conformance: %v\n", err)
		os.Exit(2)
	}
	if opts.list {
		return
	}
	if opts.expected != nil {
		report := checkResults(opts.expected, results, opts.pattern)
		report.print(os.Stdout, opts.expectedPath)
		if report.failed() {
			os.Exit(1)
		}
		return
	}
	if countVerdict(results, verdictFail) > 0 {
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var opts options
	var pattern string
	flags := flag.NewFlagSet("runner", flag.ContinueOnError)
	flags.StringVar(&opts.runtime, "runtime", "", "runtime binary under test (name in PATH or path); required")
	flags.Func("runtime-arg", "extra global argument for the runtime, before --root (repeatable)", func(arg string) error {
		opts.runtimeArg = append(opts.runtimeArg, arg)
		return nil
	})
	flags.StringVar(&opts.binDir, "bin", "", "dir with validation/, runtimetest and rootfs-amd64.tar.gz (default: this program's dir)")
	flags.StringVar(&opts.logDir, "logs", "", "dir for one full log per program (default: a new temp dir)")
	flags.StringVar(&pattern, "run", "", "run only programs whose name matches this regexp")
	flags.BoolVar(&opts.all, "all", false, "include the programs that create cgroups (linux_cgroups_*, delete_resources, delete_only_create_resources)")
	flags.DurationVar(&opts.timeout, "timeout", 120*time.Second, "time limit per program")
	flags.IntVar(&opts.jobs, "j", 1, "programs to run at once")
	flags.BoolVar(&opts.keep, "keep", false, "keep each program's scratch dir (bundles, state root)")
	flags.BoolVar(&opts.list, "list", false, "list the selected programs with their category and exit")
	flags.StringVar(&opts.expectedPath, "check", "", "expectations file (expected.txt): exit 0 when every result matches it, not when all pass")
	if err := flags.Parse(args); err != nil {
		return opts, err
	}
	if flags.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	var err error
	if opts.pattern, err = regexp.Compile(pattern); err != nil {
		return opts, fmt.Errorf("bad -run pattern: %w", err)
	}
	if opts.jobs < 1 {
		return opts, fmt.Errorf("-j must be at least 1")
	}
	if opts.binDir == "" {
		self, err := os.Executable()
		if err != nil {
			return opts, fmt.Errorf("find own dir: %w", err)
		}
		opts.binDir = filepath.Dir(self)
	}
	if opts.list {
		return opts, nil
	}
	// Read the expectations before the long run, so that a bad file fails
	// at once.
	if opts.expectedPath != "" {
		if opts.expected, err = loadExpectations(opts.expectedPath); err != nil {
			return opts, err
		}
	}
	if opts.runtime == "" {
		return opts, fmt.Errorf("-runtime is required")
	}
	if opts.runtime, err = exec.LookPath(opts.runtime); err != nil {
		return opts, fmt.Errorf("runtime: %w", err)
	}
	if opts.runtime, err = filepath.Abs(opts.runtime); err != nil {
		return opts, fmt.Errorf("runtime: %w", err)
	}
	return opts, nil
}

// selected is one program chosen by name, and why it will not run if so.
type selected struct {
	name       string
	skipReason string
}

func selectPrograms(binDir string, pattern *regexp.Regexp, all bool) ([]selected, error) {
	entries, err := os.ReadDir(filepath.Join(binDir, "validation"))
	if err != nil {
		return nil, fmt.Errorf("read programs (build them with `make conformance`): %w", err)
	}
	var programs []selected
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !pattern.MatchString(name) {
			continue
		}
		program := selected{name: name}
		if createsCgroups(name) && !all {
			program.skipReason = "creates cgroups; run with -all"
		}
		programs = append(programs, program)
	}
	sort.Slice(programs, func(i, j int) bool { return programs[i].name < programs[j].name })
	if len(programs) == 0 {
		return nil, fmt.Errorf("no program in %s matches %q", binDir, pattern)
	}
	return programs, nil
}

// run executes the selected programs, prints the report and returns one
// result per selected program, in name order (none with -list). Programs an
// interrupt kept from running are FAIL results marked notRun.
func run(ctx context.Context, opts options, out io.Writer) ([]result, error) {
	programs, err := selectPrograms(opts.binDir, opts.pattern, opts.all)
	if err != nil {
		return nil, err
	}
	if opts.list {
		for _, p := range programs {
			fmt.Fprintf(out, "%-32s %s\n", p.name, programCategory(p.name))
		}
		return nil, nil
	}
	if err := opts.prepareDirs(); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "runtime %s; logs in %s\n", opts.runtime, opts.logDir)
	fmt.Fprintf(out, "%-32s %-6s %-12s %s\n", "PROGRAM", "RESULT", "TESTS", "FIRST FAILURE")

	type finished struct {
		index int
		res   *result
	}
	done := make(chan finished)
	jobs := make(chan int)
	var workers sync.WaitGroup
	for range opts.jobs {
		workers.Go(func() {
			for i := range jobs {
				done <- finished{i, opts.runOrSkip(ctx, programs[i])}
			}
		})
	}
	go func() {
		defer close(jobs)
		for i := range programs {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		workers.Wait()
		close(done)
	}()

	// Print rows in name order as soon as each one and all before it are done.
	finishedResults := make([]*result, len(programs))
	next := 0
	for f := range done {
		finishedResults[f.index] = f.res
		for next < len(programs) && finishedResults[next] != nil {
			printRow(out, *finishedResults[next])
			next++
		}
	}
	if next < len(programs) {
		fmt.Fprintf(out, "interrupted: %d programs not run, counted as failed\n", len(programs)-next)
	}
	if !opts.keep {
		os.RemoveAll(opts.scratchDir)
	}
	results := make([]result, len(programs))
	for i, res := range finishedResults {
		if res == nil {
			res = &result{name: programs[i].name, verdict: verdictFail, detail: "interrupted", notRun: true}
		}
		results[i] = *res
	}
	fmt.Fprintf(out, "%d passed, %d failed, %d skipped\n",
		countVerdict(results, verdictPass), countVerdict(results, verdictFail), countVerdict(results, verdictSkip))
	return results, nil
}

func countVerdict(results []result, want verdict) int {
	count := 0
	for _, res := range results {
		if res.verdict == want {
			count++
		}
	}
	return count
}

func (o options) runOrSkip(ctx context.Context, program selected) *result {
	if program.skipReason != "" {
		return &result{name: program.name, verdict: verdictSkip, detail: program.skipReason}
	}
	res := o.runProgram(ctx, program.name)
	return &res
}

func (o *options) prepareDirs() error {
	for _, file := range []string{"runtimetest", "rootfs-amd64.tar.gz"} {
		if _, err := os.Stat(filepath.Join(o.binDir, file)); err != nil {
			return fmt.Errorf("missing test input: %w", err)
		}
	}
	var err error
	if o.logDir == "" {
		if o.logDir, err = os.MkdirTemp("", "husk-conformance-logs-"); err != nil {
			return fmt.Errorf("make log dir: %w", err)
		}
	} else if err = os.MkdirAll(o.logDir, 0o755); err != nil {
		return fmt.Errorf("make log dir: %w", err)
	}
	if o.logDir, err = filepath.Abs(o.logDir); err != nil {
		return fmt.Errorf("log dir: %w", err)
	}
	if o.scratchDir, err = makeSearchableTempDir("", "husk-conformance-"); err != nil {
		return fmt.Errorf("make scratch dir: %w", err)
	}
	return nil
}

func printRow(out io.Writer, res result) {
	tests := ""
	if res.report.hasPlan || res.report.total() > 0 {
		planned := max(res.report.planned, res.report.total())
		tests = fmt.Sprintf("(%d/%d ok)", res.report.ok, planned)
	}
	detail := strings.Join(strings.Fields(res.detail), " ")
	if len(detail) > 110 {
		detail = detail[:107] + "..."
	}
	fmt.Fprintf(out, "%-32s %-6s %-12s %s\n", res.name, res.verdict, tests, detail)
}
