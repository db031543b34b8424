package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/huskrt/husk/libcontainer/user"
)

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
