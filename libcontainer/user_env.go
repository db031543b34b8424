package libcontainer

import (
	"io/fs"
	"strings"

	"github.com/huskrt/husk/libcontainer/user"
)

// lookupUsername resolves a user name with the container's /etc/passwd and
// /etc/group, read through image, an fs.FS that resolves names inside the
// container's root (rootfs.FS): this process is not in the container, so
// a symlink such as /etc/passwd -> /proc/self/root/etc/passwd would
// otherwise lead to the host's files. A file that is not a regular one
// (a fifo would hang the reader) is an error.
func lookupUsername(image fs.FS, name string, extra []uint32) (uid, gid uint32, groups []uint32, err error) {
	uid, gid, groups, err = user.LookupUserFS(image, name)
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

// withHome adds HOME from the container's /etc/passwd (read through image,
// see lookupUsername) when the environment lacks it, as runc does; "/"
// when there is no passwd entry or no usable file.
func withHome(image fs.FS, env []string, uid uint32) []string {
	for _, kv := range env {
		if strings.HasPrefix(kv, "HOME=") {
			return env
		}
	}
	return append(append([]string(nil), env...), "HOME="+user.HomeDirFS(image, uid))
}
