#!/bin/bash
# setup.sh - prepare the cgroup-v2 test VM used by tests/vm/run.sh.
#
# Installs qemu-system-x86, busybox-static and cpio; fetches Debian's cloud
# kernel package with `apt-get download` and unpacks it into VM_HOME (it is
# never installed on the host); builds VM_HOME/base, the initramfs tree
# (static busybox + tests/vm/init.sh as /init) and its cpio archive.
# Quick when everything is already there. VM_HOME: see common.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/common.sh
. "$here/common.sh"

vm_ensure_packages qemu-system-x86 busybox-static cpio
mkdir -p "$VM_HOME"
cd "$VM_HOME"

# The guest kernel: whatever linux-image-cloud-amd64 depends on today. Its
# cgroup2 has every controller, and it boots fast under TCG.
if ! ls kernel/boot/vmlinuz-* >/dev/null 2>&1; then
  find_kernel_package() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
  }
  pkg=$(find_kernel_package)
  if [ -z "$pkg" ]; then
    apt-get -o DPkg::Lock::Timeout=600 -q update
    pkg=$(find_kernel_package)
  fi
  [ -n "$pkg" ] || { echo "vm setup: no linux-image-cloud-amd64 in the package lists" >&2; exit 1; }
  mkdir -p debs
  (cd debs && apt-get -q -o APT::Sandbox::User=root download "$pkg")
  rm -rf kernel.new && mkdir kernel.new
  dpkg-deb -x debs/"$pkg"_*.deb kernel.new
  rm -rf kernel && mv kernel.new kernel
fi
kernel=$(ls kernel/boot/vmlinuz-* | head -1)

# The initramfs base is rebuilt when init.sh or busybox change.
stamp=$(cat "$here/init.sh" /bin/busybox | sha256sum | cut -d' ' -f1)
if [ "$(cat base/.stamp 2>/dev/null)" != "$stamp" ] || [ ! -f base.cpio ]; then
  rm -rf base.new && mkdir -p base.new/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,etc,root,payload}
  cp /bin/busybox base.new/bin/busybox
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "base.new/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > base.new/etc/passwd
  echo 'root:x:0:' > base.new/etc/group
  install -m 0755 "$here/init.sh" base.new/init
  # Uncompressed on purpose: decompressing in a TCG guest costs about 1 s.
  (cd base.new && find . -mindepth 1 ! -name .stamp | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) > base.cpio.new
  echo "$stamp" > base.new/.stamp
  rm -rf base && mv base.new base && mv base.cpio.new base.cpio
fi
echo "vm setup: kernel $VM_HOME/$kernel, initramfs base $VM_HOME/base.cpio"
