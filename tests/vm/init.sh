#!/bin/busybox sh
# init.sh - /init of the cgroup-v2 test VM (see run.sh).
#
# Stage 1 moves the system from the initramfs onto a tmpfs and switch_roots
# there: pivot_root(2), which container runtimes use, fails while / is the
# initramfs. Stage 2 mounts the pseudo filesystems and a pure cgroup2
# hierarchy with every controller enabled, runs /husk-vm/cmd in /payload with
# its output on the second serial port, and reports the exit status on the
# console as @@HUSK-VM-STATUS=N@@ for run.sh to read.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root

if [ "$1" != stage2 ]; then
  mount -t proc proc /proc
  mkdir /newroot
  mount -t tmpfs -o mode=0755 root /newroot
  for entry in /* /.[!.]*; do
    case $entry in /proc | /sys | /dev | /newroot | '/.[!.]*') ;; *) cp -a "$entry" /newroot/ ;; esac
  done
  mkdir -p /newroot/proc /newroot/sys /newroot/dev
  umount /proc
  exec switch_root /newroot /init stage2
  echo "init: switch_root failed" > /dev/console
  poweroff -f
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
hostname husk-vm
ip link set lo up

for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control || echo "init: cannot enable $controller" > /dev/console
done

# Lines written to /dev/kmsg at level 2 reach the serial console at once, so
# the status cannot be lost in a buffer when the VM powers off right after.
report() { echo "<2>@@HUSK-VM-$1@@" > /dev/kmsg; }
report "KERNEL=$(uname -r)"
report "CONTROLLERS=$(cat /sys/fs/cgroup/cgroup.subtree_control)"

out=/dev/ttyS1
[ -c $out ] || out=/dev/console
stty -F $out raw -echo 2> /dev/null
status=127
if [ -x /husk-vm/cmd ]; then
  cd /payload && /husk-vm/cmd > $out 2>&1 < /dev/null
  status=$?
  cd /
else
  echo "init: no /husk-vm/cmd" > $out
fi
# Ending every other process first makes our own close of the port the last
# one, and a tty's last close waits until its output has drained.
kill -TERM -1 2> /dev/null
sleep 0.1
kill -KILL -1 2> /dev/null
: > $out
sync
report "STATUS=$status"
poweroff -f
