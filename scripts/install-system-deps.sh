#!/usr/bin/env bash
# Installs the Debian packages Ferry and its tests use, only those missing. Idempotent; needs root.
#   --runtime   : what Ferry itself needs (virsh for the libvirt test driver and for qemu+ssh:// via virsh's ssh)
#   --test      : plus libvirtd/QEMU/sshd for the lab and the ssh executor tests, and Chromium for Playwright
#   --test-user : creates the system account `ferry-test` the ssh tests log in as (see README, "Test it"). It is
#                 the only account change the tests need, and it is made only when asked for: `npm test` never
#                 changes an account (not root's either: a locked root stays locked).
set -euo pipefail
mode=${1:---runtime}

# The tests start their own sshd on 127.0.0.1 that authorizes one fresh key for this account only; it runs the
# remote virsh against the test driver, which needs no privileges. No home, no password that can match ("*"):
# nothing can log in as it through the machine's own sshd. Not "!" (useradd's default): with UsePAM off,
# OpenSSH refuses even key logins to a locked account.
TEST_USER=ferry-test
if [[ $mode == --test-user ]]; then
  [[ $(id -u) -eq 0 ]] || {
    echo "creating the $TEST_USER account needs root" >&2
    exit 1
  }
  if getent passwd "$TEST_USER" >/dev/null; then
    echo "account $TEST_USER: present"
    if grep -q "^$TEST_USER:!" /etc/shadow; then
      echo "account $TEST_USER is locked; sshd would refuse its key logins. Unlock it for keys with: usermod -p '*' $TEST_USER" >&2
      exit 1
    fi
    exit 0
  fi
  echo "creating system account $TEST_USER (no home, no usable password) for the ssh executor tests"
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /bin/sh --password '*' \
    --comment 'Ferry ssh tests' "$TEST_USER"
  exit 0
fi

packages=(libvirt-clients openssh-client)
if [[ $mode == --test ]]; then
  packages+=(libvirt-daemon-system qemu-system-x86 qemu-utils openssh-server iproute2 chromium util-linux procps gcc libc6-dev
    binutils openssl)
  # promtool (`promtool check metrics` lints /metrics in the tests) ships only in Debian's prometheus package. On a
  # systemd machine that package also enables a Prometheus server on :9090; `systemctl disable --now prometheus`.
  packages+=(prometheus)
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
