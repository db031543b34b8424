// Package rootfs builds a container's filesystem view inside the container
// init's fresh mount namespace: the rootfs and the config's mounts, /dev,
// pivot_root, masked and read-only paths.
//
// The caller (husk's parent, on a thread that joined the init's mount
// namespace, or an init itself) calls, in this order, from one OS thread:
//
//	h, _ := procfs.Open()
//	rootfs.Prepare(cfg, rootfs.Options{Proc: h}) // mounts, /dev, in the host's root
//	// createContainer hooks run here
//	rootfs.Enter(cfg)      // pivot_root (or MS_MOVE+chroot) into cfg.Rootfs
//	rootfs.Finish(cfg, h)  // masked and read-only paths, read-only "/"
//
// The rootfs comes from an image and is not trusted. Paths inside it are
// resolved one component at a time from a descriptor of the rootfs, so
// symlinks and ".." can never lead out of it; missing directories are made
// with mkdirat on those descriptors; mounts go onto descriptors, never onto
// paths looked up again later (CVE-2021-30465, CVE-2024-45310,
// CVE-2019-19921, CVE-2025-31133).
//
// Do not call these functions in a process whose mount namespace is shared
// with anything else (in particular the host's): they change mount
// propagation and pivot the root of the calling process.
package rootfs
