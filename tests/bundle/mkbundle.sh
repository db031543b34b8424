#!/bin/bash
# mkbundle.sh - make an OCI bundle whose rootfs is Debian's static busybox.
#
# Usage: mkbundle.sh [-t] DIR [ARGS...]
#   DIR    the bundle directory (made if missing); DIR/rootfs is replaced and
#          DIR/config.json rewritten, so use a directory of its own.
#   ARGS   process.args of the container (default: what `husk spec` says).
#   -t     keep process.terminal true (default: false, for plain pipes).
# Environment:
#   HUSK     the husk binary whose `spec` writes config.json
#            (default: ./husk at the repo root).
#   BUSYBOX  the static busybox to copy in (default: /bin/busybox, from the
#            busybox-static package).
# The rootfs has bin/busybox with one symlink per applet, /etc/passwd with
# root, nobody and husk (1000:1000), /etc/group, and empty /tmp /proc /sys
# /dev /root /home/husk.
set -euo pipefail

usage() { sed -n '2,16p' "$0" >&2; exit 2; }

terminal=false
while getopts "th" opt; do
  case $opt in
    t) terminal=true ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
dir=$1; shift

repo=$(cd "$(dirname "$0")/../.." && pwd)
husk=${HUSK:-$repo/husk}
busybox=${BUSYBOX:-/bin/busybox}

[ -x "$husk" ] || { echo "mkbundle: $husk not found; run 'make husk' first" >&2; exit 1; }
[ -x "$busybox" ] || { echo "mkbundle: $busybox not found; install busybox-static ('make deps')" >&2; exit 1; }
command -v jq >/dev/null || { echo "mkbundle: jq not found; run 'make deps'" >&2; exit 1; }
# A dynamic busybox would fail inside the container, which has no libc.
if command -v readelf >/dev/null && readelf -l "$busybox" | grep -q 'Requesting program interpreter'; then
  echo "mkbundle: $busybox is dynamically linked; install busybox-static" >&2
  exit 1
fi

mkdir -p "$dir"
rootfs=$dir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,root,home/husk}
install -d -m 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done

cat > "$rootfs/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
husk:x:1000:1000:husk:/home/husk:/bin/sh
EOF
cat > "$rootfs/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
husk:x:1000:
EOF
chown 1000:1000 "$rootfs/home/husk"

# `spec` refuses to overwrite a config.json, as runc's does.
rm -f "$dir/config.json"
"$husk" spec -b "$dir"
[ -f "$dir/config.json" ] || { echo "mkbundle: '$husk spec -b $dir' wrote no config.json" >&2; exit 1; }

filter='.process.terminal = $terminal'
args=null
if [ $# -gt 0 ]; then
  # jq 1.6 would take an argument such as "-c" for its own option if passed
  # with --args (and its split() stops at NUL bytes), so each argument is
  # turned into a JSON string on its own.
  args=
  for arg in "$@"; do
    args=${args:+$args,}$(printf '%s' "$arg" | jq -Rs .)
  done
  args="[$args]"
  filter="$filter | .process.args = \$args"
fi
jq --argjson terminal "$terminal" --argjson args "$args" "$filter" "$dir/config.json" > "$dir/config.json.new"
mv "$dir/config.json.new" "$dir/config.json"
echo "$dir"
