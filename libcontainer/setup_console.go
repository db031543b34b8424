package libcontainer

import (
	"fmt"
	"os"

	"github.com/huskrt/husk/libcontainer/procfs"
	"github.com/huskrt/husk/libcontainer/rootfs"
	"golang.org/x/sys/unix"
)

// setupConsole gives the workload a terminal (process.terminal): a pty from
// the container's own devpts, bound over /dev/console, its master sent to
// the console socket. It returns the pty's peer, which the init makes its
// stdio and controlling terminal; nil without a terminal. It runs after
// pivot_root, so /dev/pts is the container's devpts instance.
func (s *initSetup) setupConsole() (*os.File, error) {
	if s.console == nil {
		return nil, nil
	}
	master, err := openPtmx(s.root, s.proc)
	if err != nil {
		return nil, fmt.Errorf("process.terminal: %w", err)
	}
	defer master.Close()
	// TIOCGPTPEER opens the peer through the master, not by a /dev/pts/N
	// path that could be raced into a symlink (CVE-2025-52565).
	peerFd, err := ioctlPeer(int(master.Fd()))
	if err != nil {
		return nil, fmt.Errorf("process.terminal: TIOCGPTPEER: %w", err)
	}
	peer := os.NewFile(uintptr(peerFd), "pty-peer")
	if err := s.configureConsole(peer, master); err != nil {
		peer.Close()
		return nil, err
	}
	return peer, nil
}

func (s *initSetup) configureConsole(peer, master *os.File) error {
	// The pty belongs to whoever opened the multiplexer: give it to the
	// container's root, which would have opened it from inside (its group
	// comes from devpts's gid= option and stays).
	if o := s.owner; o != nil {
		if err := unix.Fchown(int(peer.Fd()), o.UID, -1); err != nil {
			return fmt.Errorf("process.terminal: chown pty: %w", err)
		}
	}
	p := s.cfg.Process
	// As runc, a size with a zero side is left alone: a 0-wide terminal
	// is of no use to anything.
	if p.ConsoleWidth > 0 && p.ConsoleHeight > 0 {
		ws := &unix.Winsize{Row: p.ConsoleHeight, Col: p.ConsoleWidth}
		if err := unix.IoctlSetWinsize(int(peer.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if err := bindConsole(int(peer.Fd())); err != nil {
		return fmt.Errorf("process.terminal: /dev/console: %w", err)
	}
	rights := unix.UnixRights(int(master.Fd()))
	if err := unix.Sendmsg(int(s.console.Fd()), []byte("/dev/ptmx"), rights, nil, 0); err != nil {
		return fmt.Errorf("process.terminal: send pty master to console socket: %w", err)
	}
	return nil
}

// openPtmx opens the container's /dev/pts/ptmx, resolved inside root (this
// process is not in the container: a /dev/pts planted as a symlink to
// /proc/self/root/dev/pts would reach the host's devpts), and checks that
// it is the devpts multiplexer (char 5:2 on devpts), then unlocks the pty.
func openPtmx(root *os.File, proc *procfs.Handle) (*os.File, error) {
	f, err := rootfs.OpenInRoot(root, proc, "/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	var st unix.Stat_t
	var sfs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, err
	}
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		f.Close()
		return nil, err
	}
	if sfs.Type != unix.DEVPTS_SUPER_MAGIC || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2 {
		f.Close()
		return nil, fmt.Errorf("/dev/pts/ptmx is not the devpts ptmx")
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	return f, nil
}

// bindConsole bind-mounts the pty peer over /dev/console, from the fd onto
// an fd: no path is resolved twice.
func bindConsole(peerFd int) error {
	dev, err := unix.Open("/dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	if fd, err := unix.Openat(dev, "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o600); err == nil {
		unix.Close(fd)
	}
	target, err := unix.Openat(dev, "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(target)
	tree, err := unix.OpenTree(peerFd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("open_tree pty: %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount pty: %w", err)
	}
	return nil
}

// ioctlPeer is TIOCGPTPEER with open flags as the argument value.
func ioctlPeer(master int) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), uintptr(unix.TIOCGPTPEER), uintptr(unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}
