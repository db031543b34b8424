package rootfs

import (
	"errors"
	"io/fs"
	"os"

	"github.com/huskrt/husk/libcontainer/procfs"
	"golang.org/x/sys/unix"
)

// errNotRegular refuses to open what is not a regular file: a fifo would
// hang the reader, a device could be anything.
var errNotRegular = errors.New("not a regular file")

// FS returns a read-only fs.FS of the tree at root for reading small files
// of an image, such as etc/passwd, from outside the container. Every name is
// resolved inside root (symlinks are followed inside it, never out of it,
// and /proc magic links are never followed), and only regular files open:
// they are reopened for reading through proc, a verified procfs handle.
//
// Do not use it for anything large or hot: each Open walks the path one
// component at a time.
func FS(root *os.File, proc *procfs.Handle) fs.FS {
	return inRootFS{root: root, proc: proc}
}

type inRootFS struct {
	root *os.File
	proc *procfs.Handle
}

func (f inRootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	t, err := resolveInRoot(f.root, "/"+name, resolveOptions{create: createNothing})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer t.Close()
	mode, err := fileMode(t.file)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if mode != unix.S_IFREG {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
	}
	file, err := f.proc.Reopen(fd(t.file), unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return file, nil
}

// OpenInRoot opens path, resolved inside root as FS does but with a final
// symlink refused, and reopens it with flags through proc. It opens any
// kind of file (a device such as /dev/pts/ptmx, for one): the caller checks
// that it got what it wanted.
func OpenInRoot(root *os.File, proc *procfs.Handle, path string, flags int) (*os.File, error) {
	t, err := resolveInRoot(root, path, resolveOptions{create: createNothing, final: refuseSymlink})
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer t.Close()
	f, err := proc.Reopen(fd(t.file), flags)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}
