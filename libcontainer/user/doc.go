// Package user resolves a container user ("name", "uid", "name:group",
// "uid:gid", ...) against the container's own /etc/passwd and /etc/group,
// the way runc and Docker do, and finds a user's home directory for HOME.
//
// It parses the files itself: it must read the container's files, never
// the host's, so it cannot use os/user or NSS. Call it after pivot_root
// (when "/etc/passwd" is the container's) or hand it readers or an fs.FS
// rooted at the container's root.
//
// Not for host users: use os/user there. Only the plain files format is
// understood; NIS compat lines ("+", "-") and comments are skipped.
package user
