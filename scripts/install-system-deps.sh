#!/usr/bin/env bash
# Installs the Debian packages Ferry and its tests use, only those missing. Idempotent; needs root.
#   --runtime : what Ferry itself needs (virsh for the libvirt test driver and for qemu+ssh:// via virsh's ssh)
#   --test    : plus libvirtd/QEMU/sshd for the lab and the ssh executor tests, and Chromium for Playwright
set -euo pipefail
mode=${1:---runtime}
packages=(libvirt-clients openssh-client)
if [[ $mode == --test ]]; then
  packages+=(libvirt-daemon-system qemu-system-x86 qemu-utils openssh-server iproute2 chromium util-linux procps gcc libc6-dev)
fi
if [[ $mode == --test && $(id -u) -eq 0 ]] && grep -q '^root:!' /etc/shadow; then
  # The ssh executor tests log in to a local sshd as root by key; OpenSSH refuses a locked ("!") account even
  # for keys when PAM is off. "*" still allows no password login. (The lab's hosts get their own copy.)
  usermod -p '*' root
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  echo "system packages: all present"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Missing Debian packages: ${missing[*]}. Install them as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
