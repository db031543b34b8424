package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/huskrt/husk/libcontainer/capabilities"
	"github.com/huskrt/husk/libcontainer/hooks"
	"github.com/huskrt/husk/libcontainer/user"
	"golang.org/x/sys/unix"
)

// becomeUser switches to the workload's user, groups and capabilities,
// enters its cwd and finds its executable. It runs after pivot_root, so
// /etc/passwd and PATH are the container's.
func (s *initState) becomeUser() error {
	p := s.cfg.Process
	uid, gid, groups := p.User.UID, p.User.GID, p.User.AdditionalGids
	if p.User.Username != "" {
		var err error
		uid, gid, groups, err = lookupUsername(p.User.Username, groups)
		if err != nil {
			return fmt.Errorf("process.user.username: %w", err)
		}
	}
	s.env = withHome(dedupEnv(p.Env), uid)
	if err := capabilities.Apply(p.Capabilities, uid, gid, groups); err != nil {
		return err
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	// chdir as the user, so permissions are the user's; then make sure the
	// cwd is inside the container (CVE-2024-21626: a leaked fd as cwd
	// would show up as a path outside the root).
	if err := unix.Chdir(p.Cwd); err != nil {
		return fmt.Errorf("process.cwd %s: %w", p.Cwd, err)
	}
	wd, err := unix.Getwd()
	if err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("process.cwd %s: resolves outside the container (%q): %v", p.Cwd, wd, err)
	}
	// Looked up after the chdir, so relative paths (./run.sh, relative
	// PATH entries) resolve from the cwd, and as the user.
	path, err := lookPath(p.Args[0], s.env)
	if err != nil {
		return fmt.Errorf("process.args[0]: %w", err)
	}
	s.execPath = path
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("process.noNewPrivileges: %w", err)
		}
	}
	return nil
}

// lookupUsername resolves a user name with the container's /etc/passwd and
// /etc/group ("/" is the container's root by now).
func lookupUsername(name string, extra []uint32) (uid, gid uint32, groups []uint32, err error) {
	if err := userFilesAreRegular(); err != nil {
		return 0, 0, nil, err
	}
	uid, gid, groups, err = user.LookupUserFS(os.DirFS("/"), name)
	if err != nil {
		return 0, 0, nil, err
	}
	return uid, gid, append(groups, extra...), nil
}

// dedupEnv keeps the last value of each variable, in the order of first
// appearance: execve would pass duplicates on and getenv(3) would return
// the first, while runc (and a shell) let the last one win.
func dedupEnv(env []string) []string {
	index := make(map[string]int, len(env))
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := index[name]; ok {
			out[i] = kv
			continue
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	return out
}

// userFilesAreRegular refuses an image whose /etc/passwd or /etc/group is
// not a regular file: init reads them as root, and a fifo there would hang
// it, a device spin it.
func userFilesAreRegular() error {
	for _, path := range []string{"/etc/passwd", "/etc/group"} {
		st, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("%s in the image is not a regular file", path)
		}
	}
	return nil
}

// withHome adds HOME from the container's /etc/passwd when the
// environment lacks it, as runc does.
func withHome(env []string, uid uint32) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			return env
		}
	}
	home := "/"
	if userFilesAreRegular() == nil {
		home = user.HomeDirFS(os.DirFS("/"), uid)
	}
	return append(append([]string(nil), env...), "HOME="+home)
}

// lookPath finds file in the PATH of the workload's environment.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		if err := isExecutable(file); err != nil {
			return "", fmt.Errorf("exec %s: %w", file, err)
		}
		return file, nil
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
}

func isExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.EISDIR
	}
	return unix.Access(path, unix.X_OK)
}

// execWorkload runs the startContainer hooks and execs the workload. Only
// the preserved fds survive the exec: every other fd is close-on-exec.
func (s *initState) execWorkload() error {
	if s.cfg.Process == nil {
		return errors.New("process: not set in config.json; nothing to start")
	}
	if err := hooks.Run("startContainer", s.cfg.Hooks.StartContainer, stateWithStatus(s.state, Created)); err != nil {
		return err
	}
	if s.proc != nil {
		s.proc.Close()
	}
	first := uint(3 + s.ic.PreservedFDs)
	if err := unix.CloseRange(first, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark fds close-on-exec: %w", err)
	}
	p := s.cfg.Process
	if err := syscall.Exec(s.execPath, p.Args, s.env); err != nil {
		return fmt.Errorf("exec %s: %w", s.execPath, err)
	}
	return nil
}

func setrlimit(resource int, soft, hard uint64) error {
	return syscall.Setrlimit(resource, &syscall.Rlimit{Cur: soft, Max: hard})
}
