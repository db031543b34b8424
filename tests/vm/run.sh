#!/bin/bash
# run.sh - run a command as root in a throw-away qemu VM with a pure cgroup v2
# hierarchy (every controller enabled at the root), for tests that cannot run
# on the host's hybrid cgroups.
#
# Usage: run.sh [-t SECS] [-m MB] [-c CPUS] [-v] DIR [--] CMD [ARG...]
#   DIR   copied to /payload in the guest; CMD runs there as root with cwd
#         /payload. Put everything CMD needs into DIR: static binaries, test
#         binaries, bundles (the guest has only busybox).
#   -t    timeout for the whole VM in seconds (default 600)
#   -m    guest memory in MiB (default 1024)
#   -c    guest CPUs (default 2)
#   -v    also copy the guest console (kernel log) to stderr
# Environment: VM_HOME (see common.sh; prepared by setup.sh), VM_ACCEL
#   (kvm|tcg; default kvm only where the CPU shows vmx/svm and /dev/kvm is
#   writable: nested KVM does not work on our hosts, so it is TCG there).
# Output: CMD's stdout and stderr. Exit status: CMD's; 124 if the VM timed
# out; 125 if the VM died or never reported a status.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/common.sh
. "$here/common.sh"

usage() { sed -n '6,20p' "$0" >&2; exit 2; }
timeout_secs=600 memory=1024 cpus=2 verbose=false
while getopts "t:m:c:vh" opt; do
  case $opt in
    t) timeout_secs=$OPTARG ;;
    m) memory=$OPTARG ;;
    c) cpus=$OPTARG ;;
    v) verbose=true ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || usage
payload=$1; shift
[ "$1" = -- ] && shift
[ $# -ge 1 ] || usage
[ -d "$payload" ] || { echo "vm: $payload is not a directory" >&2; exit 2; }

kernel=$(ls "$VM_HOME"/kernel/boot/vmlinuz-* 2>/dev/null | head -1)
if [ -z "$kernel" ] || [ ! -f "$VM_HOME/base.cpio" ]; then
  echo "vm: no VM in $VM_HOME; run tests/vm/setup.sh (make vm-setup) first" >&2
  exit 2
fi

accel=${VM_ACCEL:-}
if [ -z "$accel" ]; then
  accel=tcg
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
case $accel in
  kvm) accel_args=(-accel kvm -cpu host) ;;
  tcg) accel_args=(-accel tcg,thread=multi -cpu max) ;;
  *) echo "vm: VM_ACCEL must be kvm or tcg, not $accel" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/husk-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/stage/payload" "$work/stage/husk-vm"
cp -a "$payload"/. "$work/stage/payload/" || exit 125
{
  echo '#!/bin/sh'
  printf 'exec'
  for arg in "$@"; do printf " '%s'" "${arg//\'/\'\\\'\'}"; done
  echo
} > "$work/stage/husk-vm/cmd"
chmod 0755 "$work/stage/husk-vm/cmd"
# The kernel unpacks concatenated cpio archives in order: base, then payload.
(cd "$work/stage" && find . -mindepth 1 | cpio -o -H newc -R 0:0 --quiet) > "$work/payload.cpio" || exit 125
cat "$VM_HOME/base.cpio" "$work/payload.cpio" > "$work/initrd"

# Serial port 1 is the console (kernel log + status marker), port 2 carries
# the command's output to our stdout.
timeout --foreground -k 5 "$timeout_secs" qemu-system-x86_64 "${accel_args[@]}" \
  -m "$memory" -smp "$cpus" -nodefaults -no-user-config -display none -vga none -no-reboot \
  -kernel "$kernel" -initrd "$work/initrd" -append "console=ttyS0 quiet panic=-1" \
  -chardev file,id=console,path="$work/console.log" -serial chardev:console \
  -chardev stdio,id=output,signal=off -serial chardev:output \
  < /dev/null
qemu_status=$?

$verbose && tr -d '\r' < "$work/console.log" >&2
if [ $qemu_status = 124 ] || [ $qemu_status = 137 ]; then
  echo "vm: timed out after ${timeout_secs}s (accel $accel); console tail:" >&2
  tr -d '\r' < "$work/console.log" | tail -30 >&2
  exit 124
fi
status=$(grep -ao '@@HUSK-VM-STATUS=[0-9]*@@' "$work/console.log" | tail -1 | tr -dc 0-9)
if [ -z "$status" ]; then
  echo "vm: the guest reported no exit status (qemu status $qemu_status); console tail:" >&2
  tr -d '\r' < "$work/console.log" | tail -50 >&2
  exit 125
fi
exit "$status"
