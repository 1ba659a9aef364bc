#!/usr/bin/env bash
# Runs inside one lab host's fresh network, mount and UTS namespaces, as the child of its subreaper
# (see lab.sh start_host). Gives the host its own libvirt/ssh state by bind mounts, then starts virtlogd,
# libvirtd and sshd; they daemonize and are reparented to the subreaper. Writes HOSTDIR/ready or
# HOSTDIR/init-failed so lab.sh knows when to go on. With FERRY_LAB_HEAL=1 (lab.sh heal) it only restarts
# daemons that are not running and writes HOSTDIR/healed.
# `nsenter --mount` and this script start in `/`: every path here is absolute.
set -euo pipefail

HOSTDIR=$1
ALIAS=$2

fail() {
  echo "host-init $ALIAS: $*" >&2
  echo "$*" >"$HOSTDIR/init-failed"
  exit 1
}
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

# PID in FILE if that process is alive and named COMM.
alive() {
  local file=$1 comm=$2 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$comm" ]]
}

start_daemons() {
  alive "$HOSTDIR/virtlogd.pid" virtlogd || /usr/sbin/virtlogd -d -p "$HOSTDIR/virtlogd.pid"
  # Pinned to one core: the CPUID differs between this VM's cores, and a libvirtd that sees a different
  # CPU than its capabilities cache re-probes QEMU (~8 s) on start. Guests still get every core.
  # --listen only for a `lab.sh up --secure` host (e2e/lab/tls.sh): libvirtd then serves TLS on 16514.
  local listen=()
  [[ -e $HOSTDIR/listen-tls ]] && listen=(--listen)
  alive "$HOSTDIR/libvirtd.pid" libvirtd || taskset -c 0 /usr/sbin/libvirtd -d "${listen[@]}" -p "$HOSTDIR/libvirtd.pid"
  alive "$HOSTDIR/sshd.pid" sshd || /usr/sbin/sshd -f "$HOSTDIR/sshd/sshd_config" -E "$HOSTDIR/log-libvirt/sshd.log"
}

# Heal (the subreaper got SIGUSR1): the namespaces and mounts are in place; restart what is missing.
if [[ ${FERRY_LAB_HEAL:-} == 1 ]]; then
  rm -f "$HOSTDIR/healed"
  start_daemons
  echo ok >"$HOSTDIR/healed"
  exit 0
fi

# A fresh sysfs, so libvirt sees this namespace's network devices (and no host cgroup mounts).
umount -l /sys
mount -t sysfs sysfs /sys

# A private /run: pidfiles, sockets and sshd's privilege separation dir never touch the machine's /run.
mount -t tmpfs -o mode=0755,size=64m lab-run /run
mkdir -p /run/libvirt /run/sshd /run/lock
chmod 0755 /run/sshd

bind() {
  local source=$1 target=$2
  [[ -e $target ]] || fail "bind target $target does not exist"
  mount --bind "$source" "$target"
}
bind "$HOSTDIR/run-libvirt" /run/libvirt
bind "$HOSTDIR/etc-libvirt" /etc/libvirt
bind "$HOSTDIR/var-lib-libvirt" /var/lib/libvirt
bind "$HOSTDIR/log-libvirt" /var/log/libvirt
bind "$HOSTDIR/cache-libvirt" /var/cache/libvirt
bind "$HOSTDIR/root-ssh" /root/.ssh
# Only where the machine has one (nothing to hide otherwise; a bind needs an existing target).
if [[ -e /root/.bashrc ]]; then
  bind "$HOSTDIR/root-bashrc" /root/.bashrc
fi
bind "$HOSTDIR/hosts" /etc/hosts
bind "$HOSTDIR/resolv.conf" /etc/resolv.conf
if [[ -e $HOSTDIR/shadow ]]; then
  bind "$HOSTDIR/shadow" /etc/shadow
fi
# `up --secure` (e2e/lab/tls.sh): this host's certificates as /etc/pki, and the directory both hosts share.
if [[ -d $HOSTDIR/pki ]]; then
  bind "$HOSTDIR/pki" /etc/pki
fi
if [[ -d $HOSTDIR/var-lib-libvirt/shared ]]; then
  bind "$(dirname "$HOSTDIR")/shared" /var/lib/libvirt/shared
fi

hostname "$ALIAS"

start_daemons

echo ok >"$HOSTDIR/ready"
