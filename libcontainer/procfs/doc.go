// Package procfs gives the container init a procfs it can trust.
//
// While a container is being set up, its /proc is whatever the bundle and
// earlier mounts made of it: it may be a symlink, a fake directory, or a real
// procfs with files mounted over it (CVE-2019-19921, CVE-2025-52881). Writes
// to /proc/sys/..., /proc/self/... and mounts onto /proc/self/fd/N paths must
// therefore go through a procfs instance that nobody else can tamper with.
//
// Open returns a Handle on such an instance: preferably a brand-new procfs
// that is not attached anywhere in the mount tree, otherwise a non-recursive
// clone of the host /proc, and as a last resort the host /proc itself. Every
// candidate is checked to really be the root of a procfs, and every path
// opened through the Handle is resolved without leaving it, crossing mounts
// or following magic links.
//
// OpenOwn is the cheap variant for a caller whose own mount namespace is
// trusted (the runtime, before it joins the container's): a Handle on its
// /proc, opened before the join, stays on that instance after it.
//
// Use this package only from the container init, or from the runtime for
// the container it sets up and for its own threads (OpenOwn before joining
// a container's namespaces; Open, a new instance, when OpenOwn refuses). It is not a general procfs reader: for
// ordinary tools reading /proc directly is fine.
package procfs
