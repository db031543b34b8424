package nsenter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Frame types on the sync socket (see doc.go). The C side (frame.h) uses
// the same numbers.
const (
	// FrameOK (init → parent, empty): the request succeeded; after
	// FrameExec it means init is ready and waits on the exec fifo.
	FrameOK = 1
	// FrameError (init → parent): int32 errno, then the NUL-terminated
	// message. Init exits after it, except after a failed mount(2).
	FrameError = 2
	// FramePid (bootstrap → parent): int32 pid of the forked init.
	FramePid = 3
	// FrameMount (parent → init): mount onto the one fd it carries.
	FrameMount = 10
	// FrameExec (parent → init): the exec plan; see ExecPlan.
	FrameExec = 11
	// FrameWrite (parent → init): write a value to a file of init's
	// procfs; see Conn.WriteProc.
	FrameWrite = 12
)

const (
	// frameHeaderSize is uint32 length plus uint32 type.
	frameHeaderSize = 8
	// maxFramePayload caps a frame in both directions (FRAME_MAX_PAYLOAD).
	// An exec plan carries the workload's environment, which execve
	// allows to be a few MB.
	maxFramePayload = 4 << 20
	// maxFrameFDs is the most fds one frame carries (FRAME_MAX_FDS).
	maxFrameFDs = 4
	// mountFailurePrefix starts the message of a FrameError that reports
	// a failed mount(2); init's other errors start with "init: ".
	mountFailurePrefix = "mount "
)

// InitError is an error the container init (or the bootstrap before it)
// reported in a FrameError.
type InitError struct {
	// Errno is the failing system call's error, 0 if there was none.
	Errno syscall.Errno
	// Msg is the complete message, the errno's text included.
	Msg string
}

func (e *InitError) Error() string { return e.Msg }

// Unwrap returns Errno, so errors.Is(err, unix.ENOENT) works; nil if 0.
func (e *InitError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// Conn is the parent's end of the sync socket of a container init. It is
// not safe for concurrent use: the protocol is one request, one answer.
type Conn struct {
	f *os.File
	// started is set once the init's first FrameOK was read.
	started bool
}

// NewConn wraps f, the parent's end of a SOCK_STREAM unix socket pair. f
// may be blocking or not; a non-blocking f honours its read deadline.
func NewConn(f *os.File) *Conn { return &Conn{f: f} }

// Close closes the socket; an init still waiting for a request then exits.
func (c *Conn) Close() error { return c.f.Close() }

// RecvPid reads the FramePid the bootstrap sends after it forked. A
// FrameError becomes *InitError; EOF before a frame is io.EOF.
func (c *Conn) RecvPid() (int, error) {
	typ, payload, err := c.recv()
	if err != nil {
		return 0, err
	}
	switch typ {
	case FramePid:
		return decodePid(payload)
	case FrameError:
		return 0, decodeInitError(payload)
	}
	return 0, unexpectedFrame(typ, FramePid)
}

// Mount asks init to mount(2) source (of type fstype, with flags and data)
// onto target, which must be open (O_PATH is enough) in init's mount
// namespace. A failure of mount(2) itself is returned as the bare
// syscall.Errno (use errors.Is); other failures as *InitError, after
// which init is gone; EOF is io.EOF.
func (c *Conn) Mount(source, fstype string, flags uintptr, data string, target *os.File) error {
	if target == nil {
		return errors.New("nsenter: mount: no target")
	}
	payload := binary.NativeEndian.AppendUint64(nil, uint64(flags))
	var err error
	for _, s := range []string{source, fstype, data} {
		if payload, err = appendString(payload, s); err != nil {
			return fmt.Errorf("nsenter: mount %s on %s: %w", fstype, target.Name(), err)
		}
	}
	if err := c.WaitStarted(); err != nil {
		return err
	}
	if err := c.send(FrameMount, payload, target); err != nil {
		return err
	}
	err = c.recvOK()
	var ie *InitError
	if errors.As(err, &ie) && ie.Errno != 0 && strings.HasPrefix(ie.Msg, mountFailurePrefix) {
		return ie.Errno
	}
	return err
}

// WriteProc asks init to write value to path, a file of its procfs given
// relative to the procfs root ("sys/net/ipv4/ping_group_range"), in one
// write(2). Sysctls such as net.ipv4.ping_group_range convert ids in the
// user namespace of the writer, so they must be written by init, root of
// the container's user namespace, not by the parent. The path may not be
// absolute or contain "..", and init follows no procfs magic link (such
// as self/root) on the way. A failed open or write is *InitError, whose
// Errno errors.Is matches and whose text is init's
// ("write /proc/sys/x: no such file or directory"); init carries on after
// it. EOF is io.EOF.
func (c *Conn) WriteProc(path, value string) error {
	if !isProcPath(path) {
		return fmt.Errorf("nsenter: write /proc: path %q is not relative or has \"..\": %w", path, unix.EINVAL)
	}
	payload, err := appendString(nil, path)
	if err == nil {
		payload, err = appendString(payload, value)
	}
	if err != nil {
		return fmt.Errorf("nsenter: write /proc/%s: %w", path, err)
	}
	if err := c.WaitStarted(); err != nil {
		return err
	}
	if err := c.send(FrameWrite, payload); err != nil {
		return err
	}
	return c.recvOK()
}

// isProcPath reports whether path names something below the procfs root,
// as init checks it: not empty, not absolute, no ".." component.
func isProcPath(path string) bool {
	if path == "" || strings.HasPrefix(path, "/") {
		return false
	}
	for _, component := range strings.Split(path, "/") {
		if component == ".." {
			return false
		}
	}
	return true
}

// WaitStarted reads the init's first frame, sent once the bootstrap has
// joined and created every namespace: only then may the parent enter the
// init's namespaces through its pid. A FrameError becomes *InitError; EOF
// is io.EOF.
// Mount, WriteProc and Exec call it when nobody did.
func (c *Conn) WaitStarted() error {
	if c.started {
		return nil
	}
	if err := c.recvOK(); err != nil {
		return err
	}
	c.started = true
	return nil
}

// recvOK reads the answer to a request: nil for FrameOK, *InitError for
// FrameError.
func (c *Conn) recvOK() error {
	typ, payload, err := c.recv()
	if err != nil {
		return err
	}
	switch typ {
	case FrameOK:
		if len(payload) != 0 {
			return fmt.Errorf("nsenter: OK frame with %d bytes of payload", len(payload))
		}
		return nil
	case FrameError:
		return decodeInitError(payload)
	}
	return unexpectedFrame(typ, FrameOK)
}

// send writes one frame. The fds of files travel as SCM_RIGHTS with the
// first bytes, i.e. the header; one sendmsg normally takes the whole frame,
// and a partial send continues with the rest.
func (c *Conn) send(typ uint32, payload []byte, files ...*os.File) error {
	if len(payload) > maxFramePayload {
		return fmt.Errorf("nsenter: frame of %d bytes is over the limit of %d", len(payload), maxFramePayload)
	}
	if len(files) > maxFrameFDs {
		return fmt.Errorf("nsenter: %d fds in one frame, at most %d", len(files), maxFrameFDs)
	}
	msg := binary.NativeEndian.AppendUint32(nil, uint32(len(payload)))
	msg = binary.NativeEndian.AppendUint32(msg, typ)
	msg = append(msg, payload...)
	rc, err := c.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("nsenter: send frame: %w", err)
	}
	err = withFds(files, nil, func(fds []int) error {
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		var sendErr error
		err := rc.Write(func(fd uintptr) bool {
			for len(msg) > 0 {
				n, err := unix.SendmsgN(int(fd), msg, oob, nil, unix.MSG_NOSIGNAL)
				switch {
				case errors.Is(err, unix.EINTR):
					continue
				case errors.Is(err, unix.EAGAIN):
					return false // wait until writable
				case err != nil:
					sendErr = err
					return true
				}
				msg, oob = msg[n:], nil
			}
			return true
		})
		if sendErr != nil {
			return sendErr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("nsenter: send frame type %d: %w", typ, err)
	}
	return nil
}

// withFds calls fn with the fd numbers of files, each held by its
// os.File's Control for the duration (so no Close can recycle one), and
// without making any of them blocking as Fd() would.
func withFds(files []*os.File, fds []int, fn func([]int) error) error {
	if len(files) == 0 {
		return fn(fds)
	}
	rc, err := files[0].SyscallConn()
	if err != nil {
		return fmt.Errorf("%s: %w", files[0].Name(), err)
	}
	var fnErr error
	err = rc.Control(func(fd uintptr) {
		fnErr = withFds(files[1:], append(fds, int(fd)), fn)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", files[0].Name(), err)
	}
	return fnErr
}

// recv reads one frame. EOF before its first byte is io.EOF, within it
// io.ErrUnexpectedEOF.
func (c *Conn) recv() (uint32, []byte, error) {
	typ, payload, err := readFrame(connReader{c.f})
	if err == io.EOF {
		return 0, nil, io.EOF
	}
	if err != nil {
		return 0, nil, fmt.Errorf("nsenter: read frame: %w", err)
	}
	return typ, payload, nil
}

// readFrame reads a header and its payload from r.
func readFrame(r io.Reader) (uint32, []byte, error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	length := binary.NativeEndian.Uint32(hdr[0:4])
	typ := binary.NativeEndian.Uint32(hdr[4:8])
	if length > maxFramePayload {
		return 0, nil, fmt.Errorf("frame type %d of %d bytes is over the limit of %d", typ, length, maxFramePayload)
	}
	payload := make([]byte, length)
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return typ, payload, nil
}

// connReader reads the socket with recvmsg, so that fds a confused peer
// sends are closed instead of silently taking up fd numbers here.
type connReader struct{ f *os.File }

func (r connReader) Read(p []byte) (int, error) {
	rc, err := r.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	oob := make([]byte, unix.CmsgSpace(4*maxFrameFDs))
	var n int
	var readErr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			var oobn int
			n, oobn, _, _, readErr = unix.Recvmsg(int(fd), p, oob, unix.MSG_CMSG_CLOEXEC)
			if errors.Is(readErr, unix.EINTR) {
				continue
			}
			if errors.Is(readErr, unix.EAGAIN) {
				return false // wait until readable
			}
			closeRights(oob[:oobn])
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if readErr != nil {
		return 0, readErr
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// closeRights closes the fds of any SCM_RIGHTS message in oob.
func closeRights(oob []byte) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return
	}
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

func decodePid(payload []byte) (int, error) {
	if len(payload) != 4 {
		return 0, fmt.Errorf("nsenter: pid frame with %d bytes of payload, want 4", len(payload))
	}
	pid := int32(binary.NativeEndian.Uint32(payload))
	if pid <= 0 {
		return 0, fmt.Errorf("nsenter: pid frame with pid %d", pid)
	}
	return int(pid), nil
}

// decodeInitError returns the *InitError in payload, or an error about a
// malformed payload.
func decodeInitError(payload []byte) error {
	if len(payload) < 5 || payload[len(payload)-1] != 0 {
		return fmt.Errorf("nsenter: malformed error frame %q", payload)
	}
	errno := int32(binary.NativeEndian.Uint32(payload))
	msg := payload[4 : len(payload)-1]
	if errno < 0 {
		return fmt.Errorf("nsenter: error frame with errno %d: %s", errno, msg)
	}
	return &InitError{Errno: syscall.Errno(errno), Msg: string(msg)}
}

func unexpectedFrame(got, want uint32) error {
	return fmt.Errorf("nsenter: got frame type %d, want %d", got, want)
}

// appendString appends s and its NUL terminator.
func appendString(b []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return b, fmt.Errorf("string %q contains a NUL byte", s)
	}
	return append(append(b, s...), 0), nil
}
