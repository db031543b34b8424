package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"time"

	"github.com/huskrt/husk/libcontainer/nsenter"
	"golang.org/x/sys/unix"
)

// sealResult is the cost of what husk does before it executes the
// container's init: copy the embedded C init program into a memfd and seal
// it (nsenter.SealedInit).
type sealResult struct {
	N         int `json:"n"`
	InitBytes int `json:"initBytes"`
	// Wall times of one seal in µs, and CPU time of one seal in µs
	// (averaged: the thread's rusage has too coarse a clock for one).
	WallUs summary `json:"wallUs"`
	CPUUs  float64 `json:"cpuUs"`
}

// measureSealing calls nsenter.SealedInit n times. The bench is built from
// the same tree as husk (make builds the init program first), so it seals
// the very program husk embeds.
func measureSealing(n int) (sealResult, error) {
	prog, err := nsenter.InitProgram()
	if err != nil {
		return sealResult{}, err
	}
	res := sealResult{N: n, InitBytes: len(prog)}
	// Thread CPU time is per thread: keep the loop on one.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	wall, cpu, err := timeRepeated(n, func() error {
		f, err := nsenter.SealedInit()
		if err != nil {
			return err
		}
		return f.Close()
	})
	if err != nil {
		return res, fmt.Errorf("seal init: %w", err)
	}
	res.WallUs, res.CPUUs = summarise(wall), cpu
	return res, nil
}

// timeRepeated runs op n times and returns each run's wall time and the
// average thread CPU time per run, both in µs.
func timeRepeated(n int, op func() error) ([]float64, float64, error) {
	wall := make([]float64, 0, n)
	before := threadCPU()
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := op(); err != nil {
			return nil, 0, err
		}
		wall = append(wall, float64(time.Since(start))/float64(time.Microsecond))
	}
	cpu := float64(threadCPU()-before) / float64(time.Microsecond) / float64(n)
	return wall, cpu, nil
}

func threadCPU() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_THREAD, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s sealResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n== sealing the C init (%d bytes) into a memfd, %d times ==\n", s.InitBytes, s.N)
	fmt.Fprintf(w, "wall %.0f µs median (p90 %.0f), CPU %.0f µs per seal\n", s.WallUs.Median, s.WallUs.P90, s.CPUUs)
}
