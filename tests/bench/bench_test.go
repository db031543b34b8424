package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

func TestSummarise(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want summary
	}{
		{"odd", []float64{5, 1, 3}, summary{Median: 3, P90: 5, Min: 1, Max: 5}},
		{"even", []float64{4, 1, 3, 2}, summary{Median: 2.5, P90: 4, Min: 1, Max: 4}},
		// Nearest rank: ceil(0.9*10) = 9th smallest.
		{"ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, summary{Median: 5.5, P90: 9, Min: 1, Max: 10}},
		{"one", []float64{7}, summary{Median: 7, P90: 7, Min: 7, Max: 7}},
		{"empty", nil, summary{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.in); got != tt.want {
				t.Errorf("summarise(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRatiosUseMediansAndSkipFloorMetrics(t *testing.T) {
	res := &results{Samples: map[string]map[string][]sample{benchRun: {
		"husk":  {{"cpu_ms": 10, "maxrss_floor_kib": 700}, {"cpu_ms": 12, "maxrss_floor_kib": 700}, {"cpu_ms": 30, "maxrss_floor_kib": 700}},
		"crun":  {{"cpu_ms": 6, "maxrss_floor_kib": 700}, {"cpu_ms": 6, "maxrss_floor_kib": 700}, {"cpu_ms": 7, "maxrss_floor_kib": 700}},
		"floor": {{"cpu_ms": 3}},
	}}}
	res.summarise()
	if got := res.Ratios[benchRun]["cpu_ms"]["husk/crun"]; got != 2 {
		t.Errorf("husk/crun cpu ratio = %v, want 2 (12/6, medians)", got)
	}
	if _, ok := res.Ratios[benchRun]["cpu_ms"]["husk/floor"]; ok {
		t.Error("a ratio to the floor was computed")
	}
	if _, ok := res.Ratios[benchRun]["maxrss_floor_kib"]; ok {
		t.Error("a ratio of the launcher floor was computed")
	}
}

func TestRotate(t *testing.T) {
	rs := []runtime{{name: "a"}, {name: "b"}, {name: "c"}}
	names := func(rs []runtime) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.name)
		}
		return out
	}
	for by, want := range [][]string{{"a", "b", "c"}, {"b", "c", "a"}, {"c", "a", "b"}, {"a", "b", "c"}} {
		if got := names(rotate(rs, by)); !slices.Equal(got, want) {
			t.Errorf("rotate by %d = %v, want %v", by, got, want)
		}
	}
	if got := names(rs); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("rotate changed its input: %v", got)
	}
}

func TestCgroupsPathStaysUnderBenchParent(t *testing.T) {
	got := cgroupsPathFor(benchTag("/tmp/husk-bench.123"), "crun", 7)
	if want := "/husk-bench/b123-crun-7"; got != want {
		t.Errorf("cgroupsPathFor = %q, want %q", got, want)
	}
}

func TestDescribeArgsHidesRoot(t *testing.T) {
	r := runtime{globalArgs: []string{"--root", "/x", "--cgroup-manager=disabled"}}
	if got := r.describeArgs(); got != "--cgroup-manager=disabled" {
		t.Errorf("describeArgs = %q", got)
	}
}

func TestReadProcStatusOfSelf(t *testing.T) {
	st, err := readProcStatus(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.hwmKiB <= 0 || st.rssAnonKiB <= 0 || st.name == "" {
		t.Errorf("implausible status of this process: %+v", st)
	}
	if _, err := readProcStatus(-1); err == nil {
		t.Error("readProcStatus(-1) succeeded")
	}
}

func TestProcStatParsesParent(t *testing.T) {
	state, ppid, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ppid != os.Getppid() || state == 0 {
		t.Errorf("procStat(self) = %q, %d; want parent %d", state, ppid, os.Getppid())
	}
}

// TestLauncherReportsChildRusage runs the test binary as a launcher (the
// bench binary's own mode) on /bin/sh and checks what it reports.
func TestLauncherReportsChildRusage(t *testing.T) {
	if os.Getenv(envLauncher) != "" {
		os.Exit(runLauncher(flagArgsAfterDashes()))
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &processRunner{self: self}
	dir := t.TempDir()
	if p.devNull, err = os.Open(os.DevNull); err != nil {
		t.Fatal(err)
	}
	if p.log, err = os.Create(filepath.Join(dir, "log")); err != nil {
		t.Fatal(err)
	}
	if p.result, err = os.Create(filepath.Join(dir, "result")); err != nil {
		t.Fatal(err)
	}
	defer p.close()
	// The test binary's flags come first; the launcher mode takes the
	// command after "--".
	argvFor := func(cmd ...string) []string {
		return append([]string{"-test.run=^TestLauncherReportsChildRusage$", "--"}, cmd...)
	}
	res, err := p.run(argvFor(sh, "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"))
	if err != nil {
		t.Fatal(err)
	}
	if res.UserNs+res.SysNs <= 0 || res.MaxRSSKiB <= 0 || res.WallNs <= 0 {
		t.Errorf("launcher reported no usage: %+v", res)
	}
	if _, err := p.run(argvFor(sh, "-c", "exit 3")); err == nil {
		t.Error("a command exiting 3 was not an error")
	}
}

// flagArgsAfterDashes returns the arguments after "--" (the launched
// command), as the test binary receives its own flags first.
func flagArgsAfterDashes() []string {
	for i, a := range os.Args {
		if a == "--" {
			return os.Args[i+1:]
		}
	}
	return nil
}
