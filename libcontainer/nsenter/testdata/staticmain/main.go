// Command staticmain is built by TestStaticBuild with static glibc to check
// that the nsenter constructor works in a statically linked binary. It prints
// its network namespace and any _HUSK_ variables it can still see.
package main

import (
	"fmt"
	"os"
	"strings"

	_ "github.com/huskrt/husk/libcontainer/nsenter"
)

func main() {
	netns, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(netns)
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "_HUSK_") {
			fmt.Println(kv)
		}
	}
}
