#!/bin/bash
# smoke.sh - `make vmtest`: prove that husk runs a container on a pure cgroup
# v2 machine. Boots the VM (run.sh) with the static husk binary and a busybox
# bundle, runs the container in the foreground, and checks what it printed.
#
# Usage: smoke.sh [HUSK]   (default: ./husk at the repo root; must be static)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
husk=$(realpath "${1:-$repo/husk}")

[ -x "$husk" ] || { echo "vmtest: $husk not found; run 'make husk'" >&2; exit 1; }
if readelf -l "$husk" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  echo "vmtest: $husk is dynamically linked; the guest has no libc" >&2
  exit 1
fi

work=$(mktemp -d /tmp/husk-vmtest.XXXXXX)
trap 'rm -rf "$work"' EXIT
payload=$work/payload output=$work/output
mkdir "$payload"
cp "$husk" "$payload/husk"
marker=husk-vmtest-container-ran
HUSK=$husk "$repo/tests/bundle/mkbundle.sh" "$payload/bundle" sh -c \
  "echo $marker; echo \"cgroup: \$(cat /proc/self/cgroup)\"; echo \"controllers: \$(cat /sys/fs/cgroup/cgroup.controllers 2>&1)\"" \
  > /dev/null

set +e
"$here/run.sh" -t 300 "$payload" -- sh -c '
  echo "guest: $(uname -r), cgroup2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
  ./husk --version
  ./husk --root /run/husk run -b bundle vmtest
  status=$?
  echo "husk run exit status: $status"
  exit $status' | tee "$output"
status=${PIPESTATUS[0]}
set -e

if [ "$status" != 0 ]; then
  echo "vmtest: FAIL: the VM run ended with status $status" >&2
  exit 1
fi
if ! grep -qx "$marker" "$output"; then
  echo "vmtest: FAIL: the container did not print $marker" >&2
  exit 1
fi
echo "vmtest: PASS: husk ran a container in the cgroup v2 VM"
