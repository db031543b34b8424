package capabilities

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capLastCapPath is where the kernel publishes its highest capability.
const capLastCapPath = "/proc/sys/kernel/cap_last_cap"

// maxCapWords is the number of 32-bit words in a version 3 capset, so no
// capability above 63 can be expressed through capset(2).
const maxCapWords = 2

// LastCap returns the highest capability number the running kernel knows.
// It reads /proc/sys/kernel/cap_last_cap and, when /proc is not usable
// (e.g. before it is mounted), probes the bounding set with
// PR_CAPBSET_READ, which fails with EINVAL for the first unknown number.
func LastCap() (int, error) {
	data, readErr := os.ReadFile(capLastCapPath)
	if readErr == nil {
		n, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			return 0, fmt.Errorf("capabilities: parse %s: %w", capLastCapPath, err)
		}
		return n, nil
	}
	last, err := probeLastCap()
	if err != nil {
		return 0, fmt.Errorf("capabilities: last capability: %w (probe after %w)", err, readErr)
	}
	return last, nil
}

func probeLastCap() (int, error) {
	for n := 0; n < 32*maxCapWords; n++ {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(n), 0, 0, 0)
		if errors.Is(err, unix.EINVAL) {
			if n == 0 {
				return 0, fmt.Errorf("PR_CAPBSET_READ 0: %w", err)
			}
			return n - 1, nil
		}
		if err != nil {
			return 0, fmt.Errorf("PR_CAPBSET_READ %d: %w", n, err)
		}
	}
	return 32*maxCapWords - 1, nil
}
