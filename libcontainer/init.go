package libcontainer

import (
	"fmt"
	"os"
)

// envInitSync names the init's sync socket fd in its environment. The C
// init (package nsenter) reads it before the Go runtime would start.
const envInitSync = "_HUSK_INITSYNC"

// Init is what main runs for InitArg. A husk built with cgo never gets
// here: the container init is C code that runs before the Go runtime and
// execs the workload (package nsenter). Reaching Go code means the binary
// lacks that code.
func Init() {
	fmt.Fprintln(os.Stderr, "husk init: this binary was built without the C init (cgo); it cannot run containers")
	os.Exit(1)
}
