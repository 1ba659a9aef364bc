#!/usr/bin/env bash
# CI helper for the lab: installs the Debian packages it needs (only the missing ones,
# --no-install-recommends), brings the lab up and runs the smoke test. Leaves the lab UP for the
# end-to-end tests that follow; the caller brings it down at exit:
#
#   trap 'bash e2e/lab/lab.sh down' EXIT      # in .ci/run, before calling this
#   bash e2e/lab/ci.sh                        # exit status: the smoke test's
#
#   bash e2e/lab/ci.sh --install-only         # just the packages
#   bash e2e/lab/ci.sh --down                 # bring the lab down when done (smoke test on its own)
# Needs root.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)

# gcc + libc6-dev: lab.sh compiles its subreaper (subreaper.c) on first up; binutils (as, ld) assembles
# vm-busy's boot sector and openssl makes the lab CA and certificates (up --secure, e2e/lab/tls.sh).
PACKAGES=(libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils openssh-server openssh-client
  iproute2 util-linux procps gcc libc6-dev binutils openssl)

install_packages() {
  local missing=() package
  for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if ((${#missing[@]} == 0)); then
    echo "lab ci: packages present"
    return 0
  fi
  echo "lab ci: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

[[ $EUID -eq 0 ]] || {
  echo "lab ci: needs root" >&2
  exit 1
}

case ${1:-} in
  --install-only)
    install_packages
    exit 0
    ;;
  --down) trap 'bash "$SCRIPT_DIR/lab.sh" down' EXIT ;;
  "") ;;
  *)
    echo "usage: ci.sh [--install-only|--down]" >&2
    exit 2
    ;;
esac

install_packages
cd "$REPO_DIR"
# --secure: TLS, the shared pool and its guests, for e2e/secure-migration.spec.ts.
bash "$SCRIPT_DIR/lab.sh" up --secure
bash "$REPO_DIR/e2e/lab-smoke/smoke.sh"
