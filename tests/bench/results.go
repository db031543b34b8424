package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// results is everything one bench run found; it is written as JSON.
type results struct {
	Date       string        `json:"date"`
	Kernel     string        `json:"kernel"`
	CPUModel   string        `json:"cpuModel"`
	CPUs       int           `json:"cpus"`
	N          int           `json:"n"`
	Warmup     int           `json:"warmup"`
	CgroupView string        `json:"cgroupView"`
	Runtimes   []runtimeInfo `json:"runtimes"`
	// Summary is benchmark → runtime → metric → statistics.
	Summary map[string]map[string]map[string]summary `json:"summary"`
	// Ratios is benchmark → metric → "husk/OTHER" → ratio of the medians.
	Ratios map[string]map[string]map[string]float64 `json:"ratios"`
	Seal   sealResult                               `json:"seal"`
	// Samples is benchmark → runtime → one sample per measured iteration.
	Samples map[string]map[string][]sample `json:"samples"`
}

type runtimeInfo struct {
	Name        string `json:"name"`
	Path        string `json:"path"`
	Args        string `json:"args,omitempty"`
	Version     string `json:"version"`
	BinaryBytes int64  `json:"binaryBytes"`
	Stripped    bool   `json:"stripped"`
	Static      bool   `json:"static"`
	// InitProcess is the name of the container's init while it waits for
	// start (/proc/PID/status Name).
	InitProcess string `json:"initProcess,omitempty"`
}

// summary is the statistics of one metric over the iterations.
type summary struct {
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func newResults(opts options, view string, runtimes []runtime) *results {
	res := &results{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Kernel:     kernelRelease(),
		CPUModel:   cpuModel(),
		CPUs:       goruntime.NumCPU(),
		N:          opts.n,
		Warmup:     opts.warmup,
		CgroupView: view,
		Samples:    map[string]map[string][]sample{},
	}
	for _, r := range runtimes {
		info := binaryInfo(r.path)
		info.Name = r.name
		info.Version = versionLine(r.path)
		info.Args = r.describeArgs()
		res.Runtimes = append(res.Runtimes, info)
	}
	return res
}

func (res *results) add(bench, runtime string, s sample) {
	if res.Samples[bench] == nil {
		res.Samples[bench] = map[string][]sample{}
	}
	res.Samples[bench][runtime] = append(res.Samples[bench][runtime], s)
}

func (res *results) setInitName(runtime, name string) {
	for i := range res.Runtimes {
		if res.Runtimes[i].Name == runtime {
			res.Runtimes[i].InitProcess = name
		}
	}
}

// summarise computes Summary and Ratios from Samples.
func (res *results) summarise() {
	res.Summary = map[string]map[string]map[string]summary{}
	res.Ratios = map[string]map[string]map[string]float64{}
	for bench, byRuntime := range res.Samples {
		res.Summary[bench] = map[string]map[string]summary{}
		for runtime, samples := range byRuntime {
			res.Summary[bench][runtime] = summariseSamples(samples)
		}
		husk, ok := res.Summary[bench]["husk"]
		if !ok {
			continue
		}
		res.Ratios[bench] = map[string]map[string]float64{}
		for metric, h := range husk {
			if strings.Contains(metric, "floor") {
				continue // a property of the launcher, not of the runtimes
			}
			for runtime, other := range res.Summary[bench] {
				o, ok := other[metric]
				if runtime == "husk" || runtime == "floor" || !ok || o.Median == 0 {
					continue
				}
				if res.Ratios[bench][metric] == nil {
					res.Ratios[bench][metric] = map[string]float64{}
				}
				res.Ratios[bench][metric]["husk/"+runtime] = h.Median / o.Median
			}
		}
	}
}

func summariseSamples(samples []sample) map[string]summary {
	values := map[string][]float64{}
	for _, s := range samples {
		for metric, v := range s {
			values[metric] = append(values[metric], v)
		}
	}
	out := map[string]summary{}
	for metric, vs := range values {
		out[metric] = summarise(vs)
	}
	return out
}

// summarise returns the median, the nearest-rank 90th percentile, the
// minimum and the maximum of vs (which it sorts).
func summarise(vs []float64) summary {
	if len(vs) == 0 {
		return summary{}
	}
	slices.Sort(vs)
	n := len(vs)
	median := vs[n/2]
	if n%2 == 0 {
		median = (vs[n/2-1] + vs[n/2]) / 2
	}
	rank := int(math.Ceil(0.9 * float64(n)))
	return summary{Median: median, P90: vs[rank-1], Min: vs[0], Max: vs[n-1]}
}

func (res *results) writeJSON(path string) error {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make results dir: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// tableRows are the metrics printed for a benchmark; the JSON has them all.
func tableRows(bench string) []string {
	switch bench {
	case benchRun:
		return []string{"cpu_ms", "user_ms", "sys_ms", "wall_ms", "maxrss_kib", "maxrss_floor_kib"}
	case benchLifecycle:
		return []string{"cpu_ms", "create_cpu_ms", "init_cpu_ms", "start_cpu_ms", "delete_cpu_ms", "wall_ms",
			"peak_rss_kib", "create_maxrss_kib", "init_hwm_kib", "init_rss_file_kib", "init_rss_anon_kib"}
	default:
		return []string{"cpu_ms", "wall_ms", "maxrss_kib", "maxrss_floor_kib"}
	}
}

func benchTitle(bench string) string {
	switch bench {
	case benchRun:
		return "run of /bin/true (whole process tree)"
	case benchLifecycle:
		return "create + start + delete of /bin/true (init's memory read while it waits for start)"
	default:
		return "--version (bare start-up of the binary)"
	}
}

func (res *results) printTable(w io.Writer) {
	fmt.Fprintf(w, "husk bench %s  kernel %s  %d CPUs (%s)\n", res.Date, res.Kernel, res.CPUs, res.CPUModel)
	fmt.Fprintf(w, "N=%d measured iterations after %d warm-up, runtimes interleaved; cells: median (p90)\n", res.N, res.Warmup)
	fmt.Fprintf(w, "cgroups: %s\n", res.CgroupView)
	for _, bench := range []string{benchRun, benchLifecycle, benchVersion} {
		byRuntime := res.Summary[bench]
		if byRuntime == nil {
			continue
		}
		var names []string
		for _, r := range res.Runtimes {
			if _, ok := byRuntime[r.Name]; ok {
				names = append(names, r.Name)
			}
		}
		var ratioCols []string
		for _, n := range names {
			if n != "husk" && n != "floor" {
				ratioCols = append(ratioCols, "husk/"+n)
			}
		}
		fmt.Fprintf(w, "\n== %s ==\n", benchTitle(bench))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "metric\t%s\t%s\t\n", strings.Join(names, "\t"), strings.Join(ratioCols, "\t"))
		for _, metric := range tableRows(bench) {
			label, scale := displayUnit(metric)
			cells := []string{label}
			for _, n := range names {
				s, ok := byRuntime[n][metric]
				if !ok {
					cells = append(cells, "-")
					continue
				}
				cells = append(cells, fmt.Sprintf("%.2f (%.2f)", s.Median*scale, s.P90*scale))
			}
			for _, col := range ratioCols {
				if r, ok := res.Ratios[bench][metric][col]; ok {
					cells = append(cells, fmt.Sprintf("%.2f", r))
				} else {
					cells = append(cells, "-")
				}
			}
			fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\n== binaries ==\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "runtime\tbytes\tstripped\tstatic\tinit process\tversion\n")
	for _, r := range res.Runtimes {
		fmt.Fprintf(tw, "%s\t%d\t%v\t%v\t%s\t%s\n", r.Name, r.BinaryBytes, r.Stripped, r.Static, r.InitProcess, r.Version)
	}
	tw.Flush()
	res.Seal.print(w)
}

// displayUnit turns a metric name into a table label and a scale: memory
// is shown in MiB.
func displayUnit(metric string) (string, float64) {
	if base, ok := strings.CutSuffix(metric, "_kib"); ok {
		return base + " MiB", 1.0 / 1024
	}
	if base, ok := strings.CutSuffix(metric, "_ms"); ok {
		return base + " ms", 1
	}
	return metric, 1
}

// binaryInfo reads a binary's size and whether it is stripped (no symbol
// table) and static (no program interpreter).
func binaryInfo(path string) runtimeInfo {
	info := runtimeInfo{Path: path}
	if st, err := os.Stat(path); err == nil {
		info.BinaryBytes = st.Size()
	}
	f, err := elf.Open(path)
	if err != nil {
		return info
	}
	defer f.Close()
	info.Stripped = f.Section(".symtab") == nil
	info.Static = true
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			info.Static = false
		}
	}
	return info
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
