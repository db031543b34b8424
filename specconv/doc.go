// Package specconv turns an OCI bundle's config.json (runtime-spec 1.0 to
// 1.3) into husk's libcontainer configuration.
//
// The usual path is LoadSpec, then Convert (which calls Validate first):
//
//	spec, err := specconv.LoadSpec(bundle)
//	...
//	config, err := specconv.Convert(spec, bundle)
//
// Every error names the offending JSON path on one line, so the CLI can
// print it as is. Validate only checks what can be known before anything is
// created: it stats host paths (rootfs, bind sources, namespace files) but
// creates, mounts or changes nothing. Checks that depend on the container's
// own filesystem (symlinks inside the rootfs, users in /etc/passwd) belong
// to container setup, not here.
//
// Example, ToRootless and WriteSpec produce the default bundle config for
// "husk spec".
//
// Do not use this package to edit or re-serialise an existing config.json:
// decoding drops unknown properties (the spec requires runtimes to ignore
// them), so a round trip would lose them.
package specconv
