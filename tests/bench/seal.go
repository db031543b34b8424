package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// sealResult is the cost of the two ways husk seals its own binary before
// it executes it as the container's init (libcontainer/seal.go): a
// detached read-only overlayfs over the binary's directory, or, where
// overlayfs is unavailable, a sealed memfd copy.
type sealResult struct {
	N           int   `json:"n"`
	BinaryBytes int64 `json:"binaryBytes"`
	// Wall times of one seal in µs, and CPU time of one seal in µs
	// (averaged: the thread's rusage has too coarse a clock for one).
	OverlayWallUs   summary `json:"overlayWallUs"`
	OverlayCPUUs    float64 `json:"overlayCpuUs"`
	MemfdWallUs     summary `json:"memfdWallUs"`
	MemfdCPUUs      float64 `json:"memfdCpuUs"`
	OverlayAvailErr string  `json:"overlayError,omitempty"`
}

// measureSealing repeats, n times each, the syscalls husk's sealing makes
// (the function is internal to libcontainer, so the sequence is rebuilt
// here: fsopen/fsconfig/fsmount of an empty tmpfs and of the overlay, an
// O_PATH open of the binary; or memfd_create, a copy and F_ADD_SEALS).
// It must run in a private mount namespace: the mounts are detached and
// go away when their fds are closed, but nothing should be left to chance.
func measureSealing(husk string, n int) (sealResult, error) {
	exe, err := filepath.Abs(husk)
	if err != nil {
		return sealResult{}, err
	}
	st, err := os.Stat(exe)
	if err != nil {
		return sealResult{}, fmt.Errorf("stat %s: %w", exe, err)
	}
	res := sealResult{N: n, BinaryBytes: st.Size()}
	// Thread CPU time is per thread: keep the loop on one.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()

	wall, cpu, err := timeRepeated(n, func() error { return overlaySealOnce(exe) })
	if err != nil {
		res.OverlayAvailErr = err.Error()
	} else {
		res.OverlayWallUs, res.OverlayCPUUs = summarise(wall), cpu
	}
	wall, cpu, err = timeRepeated(n, func() error { return memfdSealOnce(exe) })
	if err != nil {
		return res, fmt.Errorf("memfd seal: %w", err)
	}
	res.MemfdWallUs, res.MemfdCPUUs = summarise(wall), cpu
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

func overlaySealOnce(exe string) error {
	empty, err := detachedMount("tmpfs", [][2]string{{"size", "4k"}}, unix.MOUNT_ATTR_RDONLY)
	if err != nil {
		return err
	}
	defer unix.Close(empty)
	overlay, err := detachedMount("overlay", [][2]string{
		{"lowerdir+", filepath.Dir(exe)},
		{"lowerdir+", "/proc/self/fd/" + strconv.Itoa(empty)},
		{"xino", "off"},
	}, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return err
	}
	defer unix.Close(overlay)
	fd, err := unix.Openat(overlay, filepath.Base(exe), unix.O_PATH|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s in overlay: %w", filepath.Base(exe), err)
	}
	return unix.Close(fd)
}

// detachedMount makes a new filesystem mounted nowhere and returns its
// mount fd.
func detachedMount(fsType string, config [][2]string, attrs int) (int, error) {
	fsfd, err := unix.Fsopen(fsType, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen %s: %w", fsType, err)
	}
	defer unix.Close(fsfd)
	for _, kv := range config {
		if err := unix.FsconfigSetString(fsfd, kv[0], kv[1]); err != nil {
			return -1, fmt.Errorf("fsconfig %s %s=%s: %w", fsType, kv[0], kv[1], err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("fsconfig %s create: %w", fsType, err)
	}
	fd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attrs)
	if err != nil {
		return -1, fmt.Errorf("fsmount %s: %w", fsType, err)
	}
	return fd, nil
}

func memfdSealOnce(exe string) error {
	src, err := os.Open(exe)
	if err != nil {
		return err
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("husk-bench", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd_create: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "husk-bench-memfd")
	defer mem.Close()
	if _, err := io.Copy(mem, src); err != nil {
		return fmt.Errorf("copy to memfd: %w", err)
	}
	const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(mem.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("seal memfd: %w", err)
	}
	return nil
}

func (s sealResult) print(w io.Writer) {
	fmt.Fprintf(w, "\n== sealing the husk binary (%d bytes), %d times each ==\n", s.BinaryBytes, s.N)
	if s.OverlayAvailErr != "" {
		fmt.Fprintf(w, "overlay: unavailable: %s\n", s.OverlayAvailErr)
	} else {
		fmt.Fprintf(w, "overlay (default): wall %.0f µs median (p90 %.0f), CPU %.0f µs per seal\n",
			s.OverlayWallUs.Median, s.OverlayWallUs.P90, s.OverlayCPUUs)
	}
	fmt.Fprintf(w, "memfd (fallback):  wall %.0f µs median (p90 %.0f), CPU %.0f µs per seal\n",
		s.MemfdWallUs.Median, s.MemfdWallUs.P90, s.MemfdCPUUs)
}
