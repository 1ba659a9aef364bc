#!/usr/bin/env bash
# Smoke test of the lab (e2e/lab/lab.sh up first): both hosts answer `virsh list --all` over qemu+ssh with
# their host key checked, vm1 migrates hv1 -> hv2 -> hv1 by plain virsh (checked on both hosts after each
# hop), and hv1 -> hv2 -> hv1 again with --p2p (the hosts' own keys and known_hosts). Leaves vm1 running on
# hv1 and no vm1 volume on hv2. Prints "N passed, M failed"; exits 1 if anything failed.
#
#   bash e2e/lab-smoke/smoke.sh          (root; FERRY_LAB_DIR as for lab.sh)
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB_DIR=$(realpath -m "${FERRY_LAB_DIR:-$REPO_DIR/.lab}")
HOSTS_JSON=$LAB_DIR/hosts.json

PASSED=0
FAILED=0
pass() {
  PASSED=$((PASSED + 1))
  echo "ok - $*"
}
fail() {
  FAILED=$((FAILED + 1))
  echo "not ok - $*"
}
finish() {
  # A failed hop can leave vm1 on hv2 or a copy behind: put the guests back for whoever runs next.
  if ((FAILED > 0)) && [[ -f $HOSTS_JSON ]]; then
    echo "# restoring the lab's guests: bash e2e/lab/lab.sh reset"
    bash "$REPO_DIR/e2e/lab/lab.sh" reset || echo "# lab.sh reset failed too"
  fi
  echo "$PASSED passed, $FAILED failed"
  ((FAILED == 0))
  exit
}

if [[ ! -f $HOSTS_JSON ]]; then
  fail "lab is up ($HOSTS_JSON missing: run npm run lab:up)"
  finish
fi

# alias -> field, read with node (already a dependency of the repo; jq may be missing).
host_field() {
  node -e 'const h = require(process.argv[1]).find((x) => x.alias === process.argv[2]); process.stdout.write(String(h[process.argv[3]]))' \
    "$HOSTS_JSON" "$1" "$2"
}
HV1_URI=$(host_field hv1 uri)
HV2_URI=$(host_field hv2 uri)
HV1_IP=$(host_field hv1 ip)
HV2_IP=$(host_field hv2 ip)

# virsh with stdin closed: an unknown host key must fail, never wait for a "yes".
v() { virsh "$@" </dev/null; }

check_host_answers() {
  local alias=$1 uri=$2 out
  if out=$(v -c "$uri" list --all 2>&1); then
    pass "$alias answers virsh list --all over qemu+ssh"
  else
    fail "$alias answers virsh list --all over qemu+ssh: $out"
  fi
}

# The key the host serves now is the one hosts.json pins, and the client's known_hosts holds that key
# (qemu+ssh checks ~/.ssh/known_hosts; StrictHostKeyChecking is on, see the unknown-key check below).
check_host_key() {
  local alias=$1 ip=$2 pinned served
  pinned=$(host_field "$alias" fingerprint)
  served=$(ssh-keyscan -T 5 -t ed25519 "$ip" 2>/dev/null | ssh-keygen -l -E sha256 -f - 2>/dev/null | awk '{print $2}')
  if [[ -n $served && $served == "$pinned" ]]; then
    pass "$alias serves the pinned host key $pinned"
  else
    fail "$alias serves host key '$served', hosts.json pins '$pinned'"
  fi
  if ssh-keygen -F "$ip" -f "$(getent passwd "$(id -u)" | cut -d: -f6)/.ssh/known_hosts" | grep -v '^#' |
    ssh-keygen -l -E sha256 -f - 2>/dev/null | grep -qF "$pinned"; then
    pass "$alias: known_hosts has exactly the pinned key"
  else
    fail "$alias: known_hosts lacks the pinned key for $ip"
  fi
}

# The check is real: the same connection with an empty known_hosts must be refused.
check_unknown_key_refused() {
  local ip=$1 keyfile out
  keyfile=$(host_field hv1 keyfile)
  if out=$(ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null \
    -i "$keyfile" "root@$ip" true 2>&1); then
    fail "ssh to $ip with an empty known_hosts was accepted"
  elif [[ $out == *"Host key verification failed"* ]]; then
    pass "ssh to $ip with an empty known_hosts is refused (host key verification failed)"
  else
    fail "ssh to $ip with an empty known_hosts failed for another reason: $out"
  fi
}

# vm1 is running and persistent on HOST and absent on OTHER.
check_vm1_on() {
  local label=$1 here_alias=$2 here=$3 other_alias=$4 other=$5 state info names
  state=$(v -c "$here" domstate vm1 2>&1)
  info=$(v -c "$here" dominfo vm1 2>&1)
  if [[ $state == running && $info =~ Persistent:\ +yes ]]; then
    pass "$label: vm1 running and persistent on $here_alias"
  else
    fail "$label: vm1 on $here_alias is '$state' ($(grep -E '^Persistent' <<<"$info"))"
  fi
  names=$(v -c "$other" list --all --name 2>&1)
  if [[ $? -eq 0 && $'\n'$names$'\n' != *$'\n'vm1$'\n'* ]]; then
    pass "$label: vm1 gone from $other_alias"
  else
    fail "$label: $other_alias still lists vm1 (or did not answer): $names"
  fi
}

migrate() {
  local label=$1 from=$2 to=$3 out
  shift 3
  local started=$EPOCHREALTIME
  if out=$(v -c "$from" migrate --live --persistent --undefinesource --copy-storage-all --verbose "$@" vm1 "$to" 2>&1); then
    local us=$((${EPOCHREALTIME/./} - ${started/./}))
    pass "$label: virsh migrate exited 0 ($((us / 1000)) ms)"
  else
    fail "$label: virsh migrate failed: ${out//$'\r'/ }"
  fi
}

# After a round trip hv2 keeps the copy libvirt created there; the smoke test removes it.
remove_hv2_copy() {
  if v -c "$HV2_URI" vol-info vm1.qcow2 --pool default >/dev/null 2>&1; then
    v -c "$HV2_URI" vol-delete vm1.qcow2 --pool default >/dev/null 2>&1 || true
  fi
}

check_clean() {
  local vols
  vols=$(v -c "$HV2_URI" vol-list default 2>&1)
  if [[ $? -eq 0 && $vols != *vm1.qcow2* ]]; then
    pass "cleanup: no vm1 volume left on hv2"
  else
    fail "cleanup: hv2 still has a vm1 volume: $vols"
  fi
}

check_host_answers hv1 "$HV1_URI"
check_host_answers hv2 "$HV2_URI"
check_host_key hv1 "$HV1_IP"
check_host_key hv2 "$HV2_IP"
check_unknown_key_refused "$HV1_IP"

if [[ $(v -c "$HV1_URI" domstate vm1 2>/dev/null) != running ]]; then
  fail "vm1 runs on hv1 before the migrations (run: bash e2e/lab/lab.sh reset)"
  finish
fi

migrate "hv1 -> hv2" "$HV1_URI" "$HV2_URI"
check_vm1_on "hv1 -> hv2" hv2 "$HV2_URI" hv1 "$HV1_URI"
migrate "hv2 -> hv1" "$HV2_URI" "$HV1_URI"
check_vm1_on "hv2 -> hv1" hv1 "$HV1_URI" hv2 "$HV2_URI"
remove_hv2_copy

# --p2p: the source libvirtd connects to the destination itself, as root on the host, with the host's
# /root/.ssh (lab key, known_hosts listing the other host); the URI is the one an admin would type there.
migrate "p2p hv1 -> hv2" "$HV1_URI" "qemu+ssh://root@$HV2_IP/system" --p2p
check_vm1_on "p2p hv1 -> hv2" hv2 "$HV2_URI" hv1 "$HV1_URI"
migrate "p2p hv2 -> hv1" "$HV2_URI" "qemu+ssh://root@$HV1_IP/system" --p2p
check_vm1_on "p2p hv2 -> hv1" hv1 "$HV1_URI" hv2 "$HV2_URI"
remove_hv2_copy
check_clean

finish
