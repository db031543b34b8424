package libcontainer_test

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/huskrt/husk/libcontainer"
	"github.com/huskrt/husk/libcontainer/configs"
)

// busyboxRootfs makes a minimal root filesystem from the host's static
// busybox (Debian's busybox-static).
func busyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "proc", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(dir, "bin/busybox")).CombinedOutput(); err != nil {
		return fmt.Errorf("copy busybox: %v: %s", err, out)
	}
	for _, applet := range []string{"sh", "echo", "hostname", "cat"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", applet)); err != nil {
			return err
		}
	}
	return nil
}

func Example() {
	// Creating namespaces needs root: this example runs as root.
	tmp, err := os.MkdirTemp("", "husk-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(tmp)
	rootfs := filepath.Join(tmp, "rootfs")
	if err := busyboxRootfs(rootfs); err != nil {
		fmt.Println(err)
		return
	}
	root, err := libcontainer.OpenRoot(filepath.Join(tmp, "state"))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Warnings (e.g. a capability the caller does not hold) go to slog's
	// default logger; without SetLogger they are discarded.
	root.SetLogger(slog.Default())
	cfg := &configs.Config{
		OCIVersion: "1.3.0",
		Rootfs:     rootfs,
		Hostname:   "example",
		Namespaces: []configs.Namespace{{Type: configs.NEWNS}, {Type: configs.NEWPID}, {Type: configs.NEWUTS}},
		Mounts: []configs.Mount{
			{Source: "proc", Destination: "/proc", Type: "proc"},
			{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Data: "mode=755"},
		},
		Process: &configs.Process{
			Args: []string{"sh", "-c", "echo hello from $(hostname)"},
			Env:  []string{"PATH=/bin"},
			Cwd:  "/",
		},
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := root.Create("example", cfg, libcontainer.CreateOptions{Stdout: w, Subreaper: true})
	w.Close()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Destroy(true)
	if err := c.Start(); err != nil {
		fmt.Println(err)
		return
	}
	code, err := c.Wait()
	if err != nil {
		fmt.Println(err)
		return
	}
	out := make([]byte, 256)
	n, _ := r.Read(out)
	fmt.Println(strings.TrimSpace(string(out[:n])), "- exit status", code)
	// Output: hello from example - exit status 0
}
