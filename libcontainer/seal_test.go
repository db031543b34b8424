package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSealedBinaryIsNotWritable is the CVE-2019-5736 property: the file
// the container's init runs from cannot be opened for writing, and it
// is byte-for-byte the binary.
func TestSealedBinaryIsNotWritable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		seal func(string) (*os.File, error)
	}{
		{"overlay", overlaySealed},
		{"memfd", memfdSealed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.seal(exe)
			if err != nil {
				t.Fatalf("seal: %v", err)
			}
			defer f.Close()
			path := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err == nil {
				// A memfd opens for writing but refuses every write.
				_, err = w.Write([]byte("x"))
				w.Close()
			}
			if !errors.Is(err, unix.EROFS) && !errors.Is(err, unix.EPERM) {
				t.Fatalf("writing the sealed binary: got %v, want EROFS or EPERM", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("sealed binary differs from %s (%d vs %d bytes)", exe, len(got), len(want))
			}
		})
	}
}
