package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/huskrt/husk/specconv"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"github.com/urfave/cli/v3"
)

func featuresCommand() *cli.Command {
	return &cli.Command{
		Name:  "features",
		Usage: "print what this build of husk supports, as OCI features.json",
		Description: `Features prints the runtime-spec features document. It claims only what this
build really implements: cgroups, seccomp, AppArmor and SELinux are not there yet.`,
		Action: func(_ context.Context, cmd *cli.Command) error {
			data, err := json.MarshalIndent(huskFeatures(), "", "    ")
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.Root().Writer, string(data))
			return err
		},
	}
}

func huskFeatures() *features.Features {
	no := false
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: "1.3.0",
		Hooks:         []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		MountOptions:  specconv.MountOptionNames(),
		Linux: &features.Linux{
			Namespaces:      []string{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"},
			Capabilities:    specconv.CapabilityNames(),
			Cgroup:          &features.Cgroup{V1: &no, V2: &no, Systemd: &no, SystemdUser: &no, Rdma: &no},
			Seccomp:         &features.Seccomp{Enabled: &no},
			Apparmor:        &features.Apparmor{Enabled: &no},
			Selinux:         &features.Selinux{Enabled: &no},
			IntelRdt:        &features.IntelRdt{Enabled: &no},
			MountExtensions: &features.MountExtensions{IDMap: &features.IDMap{Enabled: &no}},
			NetDevices:      &features.NetDevices{Enabled: &no},
		},
		Annotations: map[string]string{
			"io.github.huskrt.husk.version": version,
			"io.github.huskrt.husk.commit":  commit,
		},
	}
}
