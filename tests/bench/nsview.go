package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	// envChild marks the re-executed bench that runs the measurements.
	envChild = "HUSK_BENCH_CHILD"
	// envWorkDir is the parent's temporary directory, removed by the parent.
	envWorkDir = "HUSK_BENCH_WORKDIR"
	// envParentMountNS is the parent's mount namespace: the child refuses to
	// mount anything while it is still in it.
	envParentMountNS = "HUSK_BENCH_PARENT_MNTNS"

	cgroupRoot = "/sys/fs/cgroup"
)

// cgroup views the child can run the runtimes in.
const (
	viewUnified = "cgroup v2 (host view)"
	viewLegacy  = "cgroup v1 (host view)"
	viewV1Only  = "hybrid host; private mount namespace showing only the v1 hierarchies"
)

func mountNamespaceID() (string, error) {
	id, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return "", fmt.Errorf("read own mount namespace: %w", err)
	}
	return id, nil
}

// startChildInPrivateMountNS runs this program again with the same
// arguments in a new mount namespace. Go makes "/" recursively private in
// the child before it executes, so nothing mounted there reaches the host.
func startChildInPrivateMountNS(args []string, workDir, parentMountNS string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		envChild+"=1", envWorkDir+"="+workDir, envParentMountNS+"="+parentMountNS)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			// The child has printed its error already.
			return fmt.Errorf("benchmark failed (%v)", exitErr)
		}
		return fmt.Errorf("run benchmark in a private mount namespace: %w", err)
	}
	return nil
}

// mountWorkTmpfs puts a tmpfs on the work dir in the private namespace: the
// bundle and the runtimes' state directories then live in memory, as under
// /run on real hosts. (Each runtime creates and deletes its state dir per
// container; on ext4 that showed up in the profile as inode allocation.)
func mountWorkTmpfs(workDir, parentMountNS string) error {
	if err := requirePrivateMountNS(parentMountNS); err != nil {
		return err
	}
	if err := unix.Mount("husk-bench", workDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=700,size=256m"); err != nil {
		return fmt.Errorf("mount tmpfs on %s (private namespace): %w", workDir, err)
	}
	return nil
}

// requirePrivateMountNS fails unless this process is in a mount namespace
// other than the parent's, and makes "/" recursively private in it: mounts
// made after it stay in this namespace. Go already made "/" private when it
// unshared the namespace; doing it again keeps this safe on its own.
func requirePrivateMountNS(parentMountNS string) error {
	own, err := mountNamespaceID()
	if err != nil {
		return err
	}
	if parentMountNS == "" || own == parentMountNS {
		return fmt.Errorf("refusing to mount: not in a private mount namespace (%s)", own)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	return nil
}

// prepareCgroupView gives this (private) mount namespace a /sys/fs/cgroup
// that every runtime accepts. On a hybrid host that is a new tmpfs holding
// binds of the v1 hierarchies only, as crun refuses hybrid hosts (staging
// is an unused path where the view is built); the v1
// hierarchies are the host's own, so the cgroups the runtimes create are
// real and limits apply.
func prepareCgroupView(parentMountNS, staging string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return "", fmt.Errorf("statfs %s: %w", cgroupRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return viewUnified, nil
	}
	var unified unix.Statfs_t
	if err := unix.Statfs(filepath.Join(cgroupRoot, "unified"), &unified); err != nil || unified.Type != unix.CGROUP2_SUPER_MAGIC {
		return viewLegacy, nil
	}
	if err := requirePrivateMountNS(parentMountNS); err != nil {
		return "", err
	}
	if err := mountV1OnlyView(staging); err != nil {
		return "", err
	}
	return viewV1Only, nil
}

// mountV1OnlyView builds the new /sys/fs/cgroup at staging first, detaches
// the old one (in this private namespace only), then moves the new one in.
// Over-mounting the old one would not do: its cgroup2 mount would still be
// listed in mountinfo, and a runtime that binds the hierarchies it finds
// there into the container (husk does) would fail on the hidden one.
func mountV1OnlyView(staging string) error {
	entries, err := os.ReadDir(cgroupRoot)
	if err != nil {
		return fmt.Errorf("list %s: %w", cgroupRoot, err)
	}
	if err := os.Mkdir(staging, 0o755); err != nil {
		return fmt.Errorf("mkdir %s: %w", staging, err)
	}
	if err := unix.Mount("husk-bench", staging, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=755"); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", staging, err)
	}
	for _, e := range entries {
		src := filepath.Join(cgroupRoot, e.Name())
		dst := filepath.Join(staging, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(src)
			if err != nil {
				return fmt.Errorf("read link %s: %w", src, err)
			}
			if err := os.Symlink(target, dst); err != nil {
				return fmt.Errorf("symlink %s: %w", dst, err)
			}
			continue
		}
		var st unix.Statfs_t
		if !e.IsDir() || unix.Statfs(src, &st) != nil || st.Type != unix.CGROUP_SUPER_MAGIC {
			continue
		}
		if err := os.Mkdir(dst, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", dst, err)
		}
		if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind cgroup hierarchy %s (private namespace): %w", e.Name(), err)
		}
	}
	if err := unix.Unmount(cgroupRoot, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach %s (private namespace): %w", cgroupRoot, err)
	}
	if err := unix.Mount(staging, cgroupRoot, "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to %s (private namespace): %w", staging, cgroupRoot, err)
	}
	return nil
}
