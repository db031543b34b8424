package nsenter

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// cinit holds the C program (cinit/*.c) that make builds into
// cinit/bin/husk-init. The directory is embedded rather than the file, so
// that a plain `go build` of a fresh clone still compiles; such a husk
// cannot run containers (SealedInit says so).
//
//go:embed cinit/bin
var cinit embed.FS

// cinitPath is the program's name inside cinit.
const cinitPath = "cinit/bin/husk-init"

// ErrNoInit means husk was built without its C init (`go build` instead
// of `make`).
var ErrNoInit = errors.New("this husk was built without its C init (libcontainer/nsenter/cinit); build it with make")

// InitProgram returns the embedded C init program (a static ELF).
func InitProgram() ([]byte, error) {
	prog, err := cinit.ReadFile(cinitPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoInit
	}
	return prog, err
}

// SealedInit returns the C init program in a sealed memfd, to be executed
// as /proc/self/fd/N (the fd is close-on-exec: execve resolves the path
// first). Nothing can write to, grow or shrink a sealed memfd, so a
// container process that reaches /proc/<init>/exe cannot overwrite the
// program, let alone husk, which never runs inside a container
// (CVE-2019-5736). Copying the ≈ 70 KB costs some 35 µs.
func SealedInit() (*os.File, error) {
	prog, err := cinit.Open(cinitPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNoInit
	}
	if err != nil {
		return nil, err
	}
	defer prog.Close()
	fd, err := unix.MemfdCreate("husk-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		// Kernels before 6.3 know no MFD_EXEC; their memfds are executable.
		fd, err = unix.MemfdCreate("husk-init", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if errors.Is(err, unix.EACCES) {
		// vm.memfd_noexec = 2: no memfd may be executable on this host.
		return nil, fmt.Errorf("seal init: memfd_create: %w (the sysctl vm.memfd_noexec is 2: husk runs its init from an executable sealed memfd)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("seal init: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "husk-init")
	if err := copyAndSeal(f, prog); err != nil {
		f.Close()
		return nil, fmt.Errorf("seal init: %w", err)
	}
	return f, nil
}

// copyAndSeal copies the program in small pieces (a whole copy would be
// ≈ 70 KB of heap touched for nothing) and seals the memfd.
func copyAndSeal(f *os.File, prog io.Reader) error {
	// Not io.Copy: *os.File's ReadFrom would bring its own 32 KB buffer.
	buf := make([]byte, 16<<10)
	for {
		n, err := prog.Read(buf)
		if n > 0 {
			if _, werr := f.Write(buf[:n]); werr != nil {
				return fmt.Errorf("write: %w", werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
	}
	fd := f.Fd()
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(fd, unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("add seals: %w", err)
	}
	return nil
}
