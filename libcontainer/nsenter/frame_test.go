package nsenter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns the parent end (non-blocking, with a deadline so a
// broken test cannot hang) and the raw fd of the other end, which plays
// the init in these tests.
func socketPair(t *testing.T) (*os.File, int) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	if err := unix.SetNonblock(pair[0], true); err != nil {
		t.Fatal(err)
	}
	parent := os.NewFile(uintptr(pair[0]), "sync-parent")
	if err := parent.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		parent.Close()
		unix.Close(pair[1])
	})
	return parent, pair[1]
}

// fakeFrame is a frame as the fake init received it.
type fakeFrame struct {
	typ     uint32
	payload []byte
	fds     []int
}

// fakeRecv reads one frame on fd like the C side does: fds with the first
// bytes, the rest with further reads.
func fakeRecv(t *testing.T, fd int) fakeFrame {
	t.Helper()
	buf := make([]byte, maxFramePayload+frameHeaderSize)
	oob := make([]byte, unix.CmsgSpace(4*maxFrameFDs))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil || n < frameHeaderSize {
		t.Fatalf("fake init: recvmsg: %d bytes, %v", n, err)
	}
	var fr fakeFrame
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		t.Fatal(err)
	}
	for i := range msgs {
		fds, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			t.Fatal(err)
		}
		fr.fds = append(fr.fds, fds...)
	}
	length := int(binary.NativeEndian.Uint32(buf[0:4]))
	fr.typ = binary.NativeEndian.Uint32(buf[4:8])
	for n < frameHeaderSize+length {
		m, err := unix.Read(fd, buf[n:frameHeaderSize+length])
		if err != nil || m == 0 {
			t.Fatalf("fake init: read rest of frame: %v", err)
		}
		n += m
	}
	fr.payload = bytes.Clone(buf[frameHeaderSize:n])
	for _, fd := range fr.fds {
		t.Cleanup(func() { unix.Close(fd) })
	}
	return fr
}

// frameBytes builds a frame by hand, independently of Conn.send.
func frameBytes(typ uint32, payload []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(len(payload)))
	b = binary.NativeEndian.AppendUint32(b, typ)
	return append(b, payload...)
}

func errorPayload(errno int32, msg string) []byte {
	return append(append(binary.NativeEndian.AppendUint32(nil, uint32(errno)), msg...), 0)
}

func fakeSend(t *testing.T, fd int, b []byte) {
	t.Helper()
	if _, err := unix.Write(fd, b); err != nil {
		t.Fatalf("fake init: write: %v", err)
	}
}

func sameFile(t *testing.T, fd int, f *os.File) bool {
	t.Helper()
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(f.Name(), &b); err != nil {
		t.Fatal(err)
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func TestMountFrameAndAnswers(t *testing.T) {
	parent, initFD := socketPair(t)
	conn := NewConn(parent)
	// The init's "started" frame comes first; Mount must consume it
	// before its request, or every answer below would be off by one.
	fakeSend(t, initFD, frameBytes(FrameOK, nil))
	target, err := os.OpenFile(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	wantPayload := binary.NativeEndian.AppendUint64(nil, unix.MS_NOSUID|unix.MS_NODEV)
	wantPayload = append(wantPayload, "src\x00tmpfs\x00size=1m\x00"...)

	for _, tc := range []struct {
		name   string
		answer []byte
		check  func(error) bool
	}{
		{"ok", frameBytes(FrameOK, nil), func(err error) bool { return err == nil }},
		{"mount(2) failed", frameBytes(FrameError, errorPayload(int32(unix.ENODEV), "mount tmpfs \"src\": no such device")),
			func(err error) bool { return err == unix.ENODEV }},
		{"init failed", frameBytes(FrameError, errorPayload(0, "init: malformed mount request")),
			func(err error) bool {
				var ie *InitError
				return errors.As(err, &ie) && ie.Msg == "init: malformed mount request" && ie.Errno == 0
			}},
		{"init failed with errno", frameBytes(FrameError, errorPayload(int32(unix.EBADF), "init: read request: bad file descriptor")),
			func(err error) bool {
				var ie *InitError
				return errors.As(err, &ie) && errors.Is(err, unix.EBADF)
			}},
		{"unexpected frame", frameBytes(FramePid, []byte{1, 0, 0, 0}), func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "got frame type 3")
		}},
	} {
		errc := make(chan error, 1)
		go func() { errc <- conn.Mount("src", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=1m", target) }()
		fr := fakeRecv(t, initFD)
		if fr.typ != FrameMount || !bytes.Equal(fr.payload, wantPayload) {
			t.Errorf("%s: got frame %d %q, want %d %q", tc.name, fr.typ, fr.payload, FrameMount, wantPayload)
		}
		if len(fr.fds) != 1 || !sameFile(t, fr.fds[0], target) {
			t.Errorf("%s: got fds %v, want one fd of the target", tc.name, fr.fds)
		}
		fakeSend(t, initFD, tc.answer)
		if err := <-errc; !tc.check(err) {
			t.Errorf("%s: Mount returned %#v (%v)", tc.name, err, err)
		}
	}

	// Shutdown, not close: socketPair's cleanup closes the fd.
	unix.Shutdown(initFD, unix.SHUT_RDWR)
	if err := conn.Mount("src", "tmpfs", 0, "", target); err != io.EOF && !errors.Is(err, unix.EPIPE) {
		t.Errorf("Mount after the init closed its end: %v, want io.EOF or EPIPE", err)
	}
}

func TestRecvPid(t *testing.T) {
	parent, initFD := socketPair(t)
	conn := NewConn(parent)
	// A stream socket may deliver a frame in pieces.
	frame := frameBytes(FramePid, binary.NativeEndian.AppendUint32(nil, 4242))
	go func() {
		for _, part := range [][]byte{frame[:3], frame[3:9], frame[9:]} {
			unix.Write(initFD, part)
			time.Sleep(10 * time.Millisecond)
		}
		unix.Write(initFD, frameBytes(FrameError, errorPayload(int32(unix.EINVAL), "nsenter: setns user (fd 4): Invalid argument")))
		unix.Shutdown(initFD, unix.SHUT_WR)
	}()
	if pid, err := conn.RecvPid(); pid != 4242 || err != nil {
		t.Errorf("RecvPid = %d, %v; want 4242", pid, err)
	}
	_, err := conn.RecvPid()
	var ie *InitError
	if !errors.As(err, &ie) || ie.Msg != "nsenter: setns user (fd 4): Invalid argument" || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("RecvPid error = %#v", err)
	}
	if _, err := conn.RecvPid(); err != io.EOF {
		t.Errorf("RecvPid at EOF = %v, want io.EOF", err)
	}
}

func TestReadFrameRefusesBadFrames(t *testing.T) {
	huge := binary.NativeEndian.AppendUint32(nil, maxFramePayload+1)
	huge = binary.NativeEndian.AppendUint32(huge, FrameOK)
	for _, tc := range []struct {
		name  string
		input []byte
		want  func(error) bool
	}{
		{"empty", nil, func(err error) bool { return err == io.EOF }},
		{"half a header", []byte{1, 2, 3}, func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"short payload", frameBytes(FrameError, []byte("abc"))[:9], func(err error) bool { return err == io.ErrUnexpectedEOF }},
		{"over the limit", huge, func(err error) bool { return err != nil && strings.Contains(err.Error(), "over the limit") }},
	} {
		if _, _, err := readFrame(bytes.NewReader(tc.input)); !tc.want(err) {
			t.Errorf("%s: readFrame error %v", tc.name, err)
		}
	}
	for _, payload := range [][]byte{nil, {0, 0, 0, 0}, []byte("\x00\x00\x00\x00abc")} {
		if err := decodeInitError(payload); err == nil || errors.As(err, new(*InitError)) {
			t.Errorf("decodeInitError(%q) = %v, want a decoding error", payload, err)
		}
	}
}

// Stray fds a peer sends with an answer are closed, not leaked.
func TestStrayFdsAreClosed(t *testing.T) {
	parent, initFD := socketPair(t)
	conn := NewConn(parent)
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	before := openFdCount(t)
	rights := unix.UnixRights(int(devNull.Fd()), int(devNull.Fd()))
	if err := unix.Sendmsg(initFD, frameBytes(FrameOK, nil), rights, nil, 0); err != nil {
		t.Fatal(err)
	}
	if err := conn.recvOK(); err != nil {
		t.Fatal(err)
	}
	if after := openFdCount(t); after != before {
		t.Errorf("%d fds open before, %d after receiving 2 stray fds", before, after)
	}
}

func openFdCount(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestInitErrorUnwrap(t *testing.T) {
	err := error(&InitError{Errno: unix.ENOENT, Msg: "process.cwd /x: no such file or directory"})
	if !errors.Is(err, unix.ENOENT) || err.Error() != "process.cwd /x: no such file or directory" {
		t.Errorf("InitError with errno: Is ENOENT %v, Error %q", errors.Is(err, unix.ENOENT), err)
	}
	if (&InitError{Msg: "x"}).Unwrap() != nil {
		t.Error("InitError without errno unwraps to non-nil")
	}
}
