package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// benchCgroupParent is the only cgroup the bench's containers are put
// under (an absolute cgroupsPath; a relative one would land under the
// caller's own cgroup).
const benchCgroupParent = "husk-bench"

// cgroupsPathFor is the cgroupsPath of one container: unique per bench run
// (tag), runtime and iteration, so that cleanup removes only our own dirs.
func cgroupsPathFor(tag, runtime string, iteration int) string {
	return fmt.Sprintf("/%s/%s-%s-%d", benchCgroupParent, tag, runtime, iteration)
}

// cgroupHierarchies lists the mount points of the cgroup hierarchies under
// /sys/fs/cgroup as this mount namespace sees them.
func cgroupHierarchies() ([]string, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	var roots []string
	for _, m := range mounts {
		if m.Mountpoint == cgroupRoot || strings.HasPrefix(m.Mountpoint, cgroupRoot+"/") {
			roots = append(roots, m.Mountpoint)
		}
	}
	slices.Sort(roots)
	return slices.Compact(roots), nil
}

// removeBenchCgroups removes, with rmdir only, the cgroups this bench run
// (tag) made under /husk-bench in every hierarchy, and unless keepParent
// /husk-bench itself when it is left empty. Between iterations the parent
// is kept, so that runc and crun do not pay for making it again each time.
func removeBenchCgroups(tag string, keepParent bool) error {
	roots, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	var errs []error
	for _, root := range roots {
		parent := filepath.Join(root, benchCgroupParent)
		entries, err := os.ReadDir(parent)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s: %w", parent, err))
			continue
		}
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), tag+"-") {
				if err := rmdirTree(filepath.Join(parent, e.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if keepParent {
			continue
		}
		// Another bench run may still use the parent: then it is not empty.
		err = unix.Rmdir(parent)
		if err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("rmdir %s: %w", parent, err))
		}
	}
	return errors.Join(errs...)
}

// rmdirTree removes a cgroup and its child cgroups, deepest first. Only
// directories are touched (the control files go with their cgroup).
func rmdirTree(dir string) error {
	var dirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("walk %s: %w", dir, err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := unix.Rmdir(dirs[i]); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("rmdir %s: %w", dirs[i], err)
		}
	}
	return nil
}
