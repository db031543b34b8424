# common.sh - sourced by the tests/vm scripts; defines no behaviour of its own.

# VM_HOME holds the guest kernel, downloaded debs and the initramfs base. It
# outlives clones of the repo (a kernel download per CI run would be wasted),
# so root uses /var/cache; others use the repo's gitignored .cache.
vm_default_home() {
  if [ "$(id -u)" = 0 ]; then
    echo /var/cache/husk-vm
  else
    echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.cache/vm"
  fi
}
VM_HOME=${VM_HOME:-$(vm_default_home)}

# vm_ensure_packages PKG... installs the Debian packages that are missing,
# updating the package lists only when something is missing.
vm_ensure_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "vm: installing ${missing[*]}"
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q -y \
    --no-install-recommends install "${missing[@]}"
}
