#!/usr/bin/env bash
# Ferry's two-hypervisor lab: hv1 and hv2, each in its own network/mount/UTS namespace on a lab-only
# bridge, each with its own sshd, virtlogd and libvirtd, reached from this machine by qemu+ssh.
#
#   lab.sh up [--register] [--disk-size SIZE] [--vm-on-hv2] [--secure]
#                                                             bring it up (a no-op if already up); --secure adds
#                                                             TLS (CA, libvirtd on 16514, QEMU migration TLS),
#                                                             a shared pool and vm-shared (e2e/lab/tls.sh)
#   lab.sh down [--purge]                                     stop everything it started, remove it all
#   lab.sh status                                             exit 0 when every piece is alive
#   lab.sh reset                                              guests back to their initial hosts/states
#   lab.sh register                                           add hv1/hv2 to Ferry's DB (DATABASE_URL)
#   lab.sh uris                                               print the URIs and fingerprints again
#   lab.sh stop hv1|hv2 libvirtd|sshd|virtlogd                stop one daemon (tests of a host that is down)
#   lab.sh heal                                               start every stopped daemon again
#   lab.sh leftovers                                          list what is left of a lab; exit 1 if anything
#   lab.sh tls-rogue hv1|hv2 [on|off]                         that host's client certs from an untrusted CA
#
# Environment: FERRY_LAB_DIR (state dir, default <repo>/.lab), FERRY_LAB_NET (first three octets of the
# lab /24, default 10.77.77), FERRY_LAB_DISK_SIZE (default 256M), FERRY_LAB_VM_ON_HV2=1, FERRY_LAB_SECURE=1.
# Needs root. See e2e/lab/README.md.
set -Eeuo pipefail
trap 'echo "lab: failed at ${BASH_SOURCE[0]}:$LINENO: $BASH_COMMAND" >&2' ERR

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB_DIR=$(realpath -m "${FERRY_LAB_DIR:-$REPO_DIR/.lab}")
NET_PREFIX=${FERRY_LAB_NET:-10.77.77}

HOSTS=(hv1 hv2)
BRIDGE=ferrylab0
BRIDGE_IP=$NET_PREFIX.1
KEY=$LAB_DIR/keys/id_ed25519
KNOWN_HOSTS=$LAB_DIR/known_hosts
CLIENT_KNOWN_HOSTS=${FERRY_LAB_CLIENT_KNOWN_HOSTS:-$(getent passwd 0 | cut -d: -f6)/.ssh/known_hosts}
CLIENT_KNOWN_HOSTS_ADDED=$LAB_DIR/client-known-hosts.added
STATE=$LAB_DIR/state.env
# Written as the last step of `up`; a lab without it (an interrupted up) is torn down and rebuilt.
UP_COMPLETE=$LAB_DIR/up-complete
SUBREAPER=$LAB_DIR/bin/subreaper
MARKER=$LAB_DIR/.ferry-lab
# The volume's directory must be a pool target on the destination too, or --copy-storage-all fails with
# "Storage pool not found: no storage pool with matching target path".
IMAGES=/var/lib/libvirt/images

host_ip() {
  case $1 in
    hv1) echo "$NET_PREFIX.11" ;;
    hv2) echo "$NET_PREFIX.12" ;;
    *) die "unknown host $1" ;;
  esac
}
# Distinct and stable across down/up, so a registered host keeps its identity.
host_uuid() {
  case $1 in
    hv1) echo "f3e7a1b0-0a11-4c1b-9e00-000000000011" ;;
    hv2) echo "f3e7a1b0-0a11-4c1b-9e00-000000000012" ;;
    *) die "unknown host $1" ;;
  esac
}
netns_name() { echo "ferrylab-$1"; }
veth_name() { echo "flab-$1"; }
host_dir() { echo "$LAB_DIR/$1"; }
socket_uri() { echo "qemu+unix:///system?socket=$(host_dir "$1")/run-libvirt/libvirt-sock"; }
# qemu+ssh runs OpenSSH, which ignores libvirt's known_hosts/known_hosts_verify parameters (libvirt 9.0
# honours them only for qemu+libssh and qemu+libssh2) and checks the user's ~/.ssh/known_hosts: `up` adds
# the lab's host keys there and `down` removes exactly those lines.
ssh_uri() { echo "qemu+ssh://root@$(host_ip "$1")/system?keyfile=$KEY"; }
libssh_uri() { echo "qemu+libssh://root@$(host_ip "$1")/system?keyfile=$KEY&known_hosts=$KNOWN_HOSTS&known_hosts_verify=normal"; }
display_uri() { echo "qemu+ssh://root@$(host_ip "$1")/system"; }
fingerprint() { ssh-keygen -l -E sha256 -f "$LAB_DIR/keys/$1/ssh_host_ed25519_key.pub" | awk '{print $2}'; }

# Guests: name, uuid, host, initial state. vm3 exists only with --vm-on-hv2. vm4 is hv1's third running guest
# (per-host limit tests need three migrations from one host). vm-shared and vm-busy live in the shared pool.
# vm5 makes four running guests with local disks on hv1 (the evacuation e2e drains four).
VM_NAMES=(vm1 vm2 vm-off vm3 vm4 vm-shared vm-busy vm5)
vm_uuid() {
  case $1 in
    vm1) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a1" ;;
    vm2) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a2" ;;
    vm-off) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a0" ;;
    vm3) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a3" ;;
    vm4) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a4" ;;
    vm5) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a7" ;;
    vm-shared) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a5" ;;
    vm-busy) echo "0f1e0000-7a5b-4c1b-9e00-0000000000a6" ;;
  esac
}
vm_home() { case $1 in vm3) echo hv2 ;; *) echo hv1 ;; esac; }
vm_initial_state() { case $1 in vm-off | vm-busy) echo "shut off" ;; *) echo running ;; esac; }
vm_enabled() {
  case $1 in
    vm3) [[ ${VM_ON_HV2:-0} == 1 ]] ;;
    vm-shared | vm-busy) [[ ${SECURE:-0} == 1 ]] ;;
    *) return 0 ;;
  esac
}
# The guests whose initial home is HOST, one per line.
vms_on() {
  local name
  for name in "${VM_NAMES[@]}"; do
    if vm_enabled "$name" && [[ $(vm_home "$name") == "$1" ]]; then echo "$name"; fi
  done
}

T0=$EPOCHREALTIME
log() { printf '[lab %6ss] %s\n' "$(elapsed)" "$*"; }
elapsed() {
  local us=$((${EPOCHREALTIME/./} - ${T0/./}))
  printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}
die() {
  echo "lab: $*" >&2
  exit 1
}

# shellcheck source=e2e/lab/tls.sh
source "$SCRIPT_DIR/tls.sh"

require_root() { [[ $EUID -eq 0 ]] || die "needs root (network namespaces, bridges, mounts)"; }

require_tools() {
  local missing=()
  local tool
  for tool in ip nsenter unshare setsid taskset virsh virt-ssh-helper qemu-img qemu-system-x86_64 ssh ssh-keygen cc flock node; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  for tool in /usr/sbin/libvirtd /usr/sbin/virtlogd /usr/sbin/sshd; do
    [[ -x $tool ]] || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (run e2e/lab/ci.sh --install-only, or see e2e/lab/README.md)"
}

validate_config() {
  [[ $NET_PREFIX =~ ^(10\.[0-9]{1,3}\.[0-9]{1,3}|192\.168\.[0-9]{1,3}|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]{1,3})$ ]] ||
    die "FERRY_LAB_NET must be the first three octets of a private /24 (e.g. 10.77.77), got '$NET_PREFIX'"
  # LAB_DIR ends up inside URIs and unix socket paths (108 bytes max): keep it plain and short.
  [[ $LAB_DIR =~ ^/[A-Za-z0-9/._-]+$ ]] || die "FERRY_LAB_DIR must be a plain absolute path, got '$LAB_DIR'"
  ((${#LAB_DIR} <= 60)) || die "FERRY_LAB_DIR is too long for libvirt's socket paths (max 60 chars): $LAB_DIR"
  [[ ${DISK_SIZE:-256M} =~ ^[0-9]+[KMGT]?$ ]] || die "disk size must look like 256M or 2G, got '$DISK_SIZE'"
}

# One lab command at a time: up/down/reset all touch the same namespaces.
take_lock() {
  mkdir -p "$LAB_DIR"
  exec {LOCK_FD}>"$LAB_DIR/.lock"
  flock -w 120 "$LOCK_FD" || die "another lab command holds $LAB_DIR/.lock"
}

# --- processes -------------------------------------------------------------------------------------

# PID in FILE if that process is alive and its comm is COMM (so a reused PID is never mistaken for ours).
pid_from_file() {
  local file=$1 comm=$2 pid
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  pid=${pid//[[:space:]]/}
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/comm && $(</proc/"$pid"/comm) == "$comm" ]] || return 1
  echo "$pid"
}

host_daemons_alive() {
  local dir
  dir=$(host_dir "$1")
  pid_from_file "$dir/subreaper.pid" subreaper >/dev/null &&
    pid_from_file "$dir/virtlogd.pid" virtlogd >/dev/null &&
    pid_from_file "$dir/libvirtd.pid" libvirtd >/dev/null &&
    pid_from_file "$dir/sshd.pid" sshd >/dev/null
}

lab_is_up() {
  [[ -f $STATE && -f $UP_COMPLETE ]] || return 1
  ip link show "$BRIDGE" >/dev/null 2>&1 || return 1
  local host
  for host in "${HOSTS[@]}"; do
    [[ -e /run/netns/$(netns_name "$host") ]] || return 1
    host_daemons_alive "$host" || return 1
  done
}

check_bridge_owner() {
  local owner
  owner=$(cat "/sys/class/net/$BRIDGE/ifalias" 2>/dev/null) || return 0
  [[ -z $owner || $owner == "ferry-lab:$LAB_DIR" ]] ||
    die "bridge $BRIDGE belongs to another lab (${owner#ferry-lab:}); bring that one down with FERRY_LAB_DIR=${owner#ferry-lab:}"
}

subreapers_alive() {
  local host
  for host in "${HOSTS[@]}"; do
    pid_from_file "$(host_dir "$host")/subreaper.pid" subreaper >/dev/null || return 1
  done
}

lab_has_remnants() {
  [[ -f $STATE ]] && return 0
  ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
  local host
  for host in "${HOSTS[@]}"; do
    [[ -e /run/netns/$(netns_name "$host") ]] && return 0
    [[ -e $(host_dir "$host")/subreaper.pid ]] && return 0
  done
  return 1
}

# A zombie is not running: its parent may be PID 1, which here reaps orphans only every ~2 s.
is_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# Sends SIG to each PID, then waits up to SECONDS for all of them to be gone.
kill_and_wait() {
  local sig=$1 seconds=$2
  shift 2
  (($# > 0)) || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  local deadline=$((SECONDS + seconds)) pid alive
  while :; do
    alive=()
    for pid in "$@"; do
      is_running "$pid" && alive+=("$pid")
    done
    ((${#alive[@]} == 0)) && return 0
    ((SECONDS >= deadline)) && break
    sleep 0.05
  done
  echo "${alive[@]}"
  return 1
}

# Every process the lab started on HOST: its daemons by pidfile, the QEMUs libvirt started (pidfiles in
# /run/libvirt/qemu), and anything else inside the host's private network namespace (ssh sessions,
# virt-ssh-helper); nothing outside that namespace is touched. The subreaper goes last.
stop_host() {
  local host=$1 dir ns pids=() pid file
  dir=$(host_dir "$host")
  ns=$(netns_name "$host")
  for file in "$dir"/run-libvirt/qemu/*.pid; do
    [[ -e $file ]] || continue
    pid=$(pid_from_file "$file" qemu-system-x86) && pids+=("$pid")
  done
  pid=$(pid_from_file "$dir/libvirtd.pid" libvirtd) && pids+=("$pid")
  pid=$(pid_from_file "$dir/virtlogd.pid" virtlogd) && pids+=("$pid")
  pid=$(pid_from_file "$dir/sshd.pid" sshd) && pids+=("$pid")
  local reaper=""
  reaper=$(pid_from_file "$dir/subreaper.pid" subreaper) || reaper=""
  if [[ -e /run/netns/$ns ]]; then
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
      [[ $pid == "$reaper" ]] || pids+=("$pid")
    done
  fi
  if ((${#pids[@]} > 0)); then
    mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -un)
    log "$host: stopping $(describe_pids "${pids[@]}")"
    local left
    if ! left=$(kill_and_wait TERM 5 "${pids[@]}"); then
      log "$host: SIGKILL to $left"
      # shellcheck disable=SC2086 # left is a list of PIDs
      kill_and_wait KILL 3 $left >/dev/null || die "$host: processes survived SIGKILL: $left"
    fi
  fi
  if [[ -n $reaper ]]; then
    kill_and_wait TERM 3 "$reaper" >/dev/null || kill_and_wait KILL 3 "$reaper" >/dev/null ||
      die "$host: subreaper $reaper survived SIGKILL"
    REAPED_ZOMBIES+=("$reaper")
  fi
  if [[ -e /run/netns/$ns ]]; then
    ip netns del "$ns"
    log "$host: network namespace $ns removed"
  fi
}

# "123 libvirtd, 456 sshd" for the given PIDs, for the log of what `down` stopped.
describe_pids() {
  local pid comm out=()
  for pid in "$@"; do
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || comm=gone
    out+=("$pid $comm")
  done
  local IFS=,
  echo "${out[*]}" | sed 's/,/, /g'
}

# --- setup -----------------------------------------------------------------------------------------

build_subreaper() {
  mkdir -p "$LAB_DIR/bin"
  if [[ ! -x $SUBREAPER || $SCRIPT_DIR/subreaper.c -nt $SUBREAPER ]]; then
    cc -O2 -Wall -Werror -o "$SUBREAPER.tmp" "$SCRIPT_DIR/subreaper.c"
    mv "$SUBREAPER.tmp" "$SUBREAPER"
  fi
}

# Keys live in $LAB_DIR/keys and survive `down` (not `down --purge`), so fingerprints Ferry pinned stay valid.
ensure_keys() {
  mkdir -p "$LAB_DIR/keys"
  chmod 700 "$LAB_DIR/keys"
  [[ -f $KEY ]] || ssh-keygen -q -t ed25519 -N '' -C ferry-lab -f "$KEY"
  local host
  for host in "${HOSTS[@]}"; do
    mkdir -p "$LAB_DIR/keys/$host"
    [[ -f $LAB_DIR/keys/$host/ssh_host_ed25519_key ]] ||
      ssh-keygen -q -t ed25519 -N '' -C "ferry-lab-$host" -f "$LAB_DIR/keys/$host/ssh_host_ed25519_key"
  done
}

known_hosts_line() {
  local host=$1 names=$2
  echo "$names $(cut -d' ' -f1-2 "$LAB_DIR/keys/$host/ssh_host_ed25519_key.pub") ferry-lab-$host"
}

# Adds the lab's host keys to the Ferry box's known_hosts (see ssh_uri), refusing to touch an entry for a
# lab address that the lab did not write. Every line added is recorded so `down` removes exactly it.
add_client_known_hosts() {
  mkdir -p "$(dirname "$CLIENT_KNOWN_HOSTS")"
  touch "$CLIENT_KNOWN_HOSTS"
  local host ip line existing
  for host in "${HOSTS[@]}"; do
    ip=$(host_ip "$host")
    line=$(known_hosts_line "$host" "$ip")
    existing=$(ssh-keygen -F "$ip" -f "$CLIENT_KNOWN_HOSTS" | grep -v '^#' || true)
    if [[ -n $existing && $existing != "$line" ]]; then
      if grep -q " ferry-lab-$host\$" <<<"$existing"; then
        remove_lines "$CLIENT_KNOWN_HOSTS" "$existing"
      else
        die "$CLIENT_KNOWN_HOSTS has a key for $ip that the lab did not add; remove it with: ssh-keygen -R $ip -f $CLIENT_KNOWN_HOSTS"
      fi
    fi
    echo "$line" >>"$CLIENT_KNOWN_HOSTS_ADDED"
    grep -qxF -- "$line" "$CLIENT_KNOWN_HOSTS" || echo "$line" >>"$CLIENT_KNOWN_HOSTS"
  done
}

# Removes exactly LINES (newline-separated) from FILE, keeping the file's inode and mode.
remove_lines() {
  local file=$1 lines=$2 kept
  kept=$(grep -vxF -f <(printf '%s\n' "$lines") "$file" || true)
  if [[ -n $kept ]]; then printf '%s\n' "$kept" >"$file"; else : >"$file"; fi
}

remove_client_known_hosts() {
  [[ -f $CLIENT_KNOWN_HOSTS_ADDED ]] || return 0
  if [[ -f $CLIENT_KNOWN_HOSTS ]]; then
    remove_lines "$CLIENT_KNOWN_HOSTS" "$(<"$CLIENT_KNOWN_HOSTS_ADDED")"
  fi
  rm -f "$CLIENT_KNOWN_HOSTS_ADDED"
}

setup_network() {
  ip link add "$BRIDGE" type bridge
  # Which state dir owns the lab, so a second FERRY_LAB_DIR never tears down a lab it did not start.
  ip link set "$BRIDGE" alias "ferry-lab:$LAB_DIR"
  # No forwarding on the bridge's IP side: the root namespace never routes lab traffic anywhere.
  echo 0 >"/proc/sys/net/ipv4/conf/$BRIDGE/forwarding"
  echo 1 >"/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6"
  ip addr add "$BRIDGE_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  local host ns veth
  for host in "${HOSTS[@]}"; do
    ns=$(netns_name "$host")
    veth=$(veth_name "$host")
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    echo 1 >"/proc/sys/net/ipv6/conf/$veth/disable_ipv6"
    ip link set "$veth" master "$BRIDGE" up
    nsenter --net="/run/netns/$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" addr add "$(host_ip "$host")/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
}

# libvirt takes the FIRST occurrence of a key: append only keys not already set, never edit examples.
set_conf_key() {
  local file=$1 key=$2 value=$3
  if ! grep -Eq "^[[:space:]]*$key[[:space:]]*=" "$file"; then
    printf '%s = %s\n' "$key" "$value" >>"$file"
  fi
}

prepare_host_dir() {
  local host=$1 dir ip
  dir=$(host_dir "$host")
  ip=$(host_ip "$host")
  rm -rf "$dir"
  mkdir -p "$dir"/{run-libvirt,etc-libvirt,log-libvirt,cache-libvirt,root-ssh,sshd,xml}
  mkdir -p "$dir"/var-lib-libvirt/{images,qemu,boot}

  # Only the config files: the machine's /etc/libvirt/qemu/networks/autostart would start a NATed
  # network inside the host, and its domain definitions are none of the lab's business.
  local conf
  for conf in libvirt.conf libvirtd.conf qemu.conf virtlogd.conf virtlockd.conf libvirt-admin.conf qemu-lockd.conf; do
    [[ -f /etc/libvirt/$conf ]] && cp "/etc/libvirt/$conf" "$dir/etc-libvirt/$conf"
  done
  [[ -f $dir/etc-libvirt/qemu.conf && -f $dir/etc-libvirt/libvirtd.conf ]] || die "/etc/libvirt/qemu.conf or libvirtd.conf missing: is libvirt-daemon-system installed?"
  {
    echo
    echo "# Ferry lab ($host)"
  } | tee -a "$dir/etc-libvirt/qemu.conf" >>"$dir/etc-libvirt/libvirtd.conf"
  # QEMU as root: a root-only /dev/kvm otherwise makes libvirt re-probe QEMU on every lookup (+8 s per migration).
  set_conf_key "$dir/etc-libvirt/qemu.conf" user '"root"'
  set_conf_key "$dir/etc-libvirt/qemu.conf" group '"root"'
  set_conf_key "$dir/etc-libvirt/qemu.conf" security_driver '"none"'
  # The source reaches the destination by this address; the hostname would not resolve.
  set_conf_key "$dir/etc-libvirt/qemu.conf" migration_host "\"$ip\""
  set_conf_key "$dir/etc-libvirt/libvirtd.conf" host_uuid "\"$(host_uuid "$host")\""
  set_conf_key "$dir/etc-libvirt/libvirtd.conf" log_outputs '"3:file:/var/log/libvirt/libvirtd.log"'
  if secure_enabled; then secure_prepare_host "$host"; fi

  cat >"$dir/hosts" <<EOF
127.0.0.1 localhost
$BRIDGE_IP ferry
$(host_ip hv1) hv1
$(host_ip hv2) hv2
EOF
  # No nameserver: the resolver falls back to 127.0.0.1 inside the namespace, where nothing listens.
  printf '# Ferry lab host %s: no nameserver, so no lookup leaves the lab\noptions timeout:1 attempts:1\n' "$host" >"$dir/resolv.conf"

  # A locked root ('!' in shadow) cannot log in even by key; give the host its own unlocked copy.
  if grep -q '^root:!' /etc/shadow; then
    sed 's/^root:![^:]*:/root:*:/' /etc/shadow >"$dir/shadow"
    chmod 640 "$dir/shadow"
  fi

  # Every ssh command to a host runs root's shell, and bash reads ~/.bashrc when sshd starts it. A developer's
  # ~/.bashrc can be slow (this VM's runs `pyenv init`: ~0.5 s of CPU per login, and every qemu+ssh connection
  # is a login); a hypervisor's root does not pay that. The host reads this file instead (host-init.sh).
  printf '# Ferry lab host %s: the root shell reads nothing (prepare_host_dir in e2e/lab/lab.sh)\n' "$host" \
    >"$dir/root-bashrc"

  cp "$KEY" "$dir/root-ssh/id_ed25519"
  cp "$KEY.pub" "$dir/root-ssh/id_ed25519.pub"
  cp "$KEY.pub" "$dir/root-ssh/authorized_keys"
  {
    known_hosts_line hv1 "hv1,$(host_ip hv1)"
    known_hosts_line hv2 "hv2,$(host_ip hv2)"
  } >"$dir/root-ssh/known_hosts"
  chmod 700 "$dir/root-ssh"
  chmod 600 "$dir/root-ssh/id_ed25519"

  cp "$LAB_DIR/keys/$host/ssh_host_ed25519_key" "$LAB_DIR/keys/$host/ssh_host_ed25519_key.pub" "$dir/sshd/"
  chmod 600 "$dir/sshd/ssh_host_ed25519_key"
  cat >"$dir/sshd/sshd_config" <<EOF
# Ferry lab host $host
ListenAddress $ip
Port 22
HostKey $dir/sshd/ssh_host_ed25519_key
PidFile $dir/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
UseDNS no
AcceptEnv LANG LC_*
MaxSessions 64
MaxStartups 64:30:128
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
}

start_host() {
  local host=$1 dir
  dir=$(host_dir "$host")
  # setsid: the host outlives this shell; nsenter and unshare exec in place, so the subreaper is the
  # namespace's first process and keeps its mount namespace alive.
  setsid nsenter --net="/run/netns/$(netns_name "$host")" -- \
    unshare --mount --uts --propagation private -- \
    "$SUBREAPER" "$dir/subreaper.pid" /bin/bash "$SCRIPT_DIR/host-init.sh" "$dir" "$host" \
    </dev/null >"$dir/subreaper.log" 2>&1 {LOCK_FD}>&- &
}

wait_host_ready() {
  local host=$1 dir deadline=$((SECONDS + 60))
  dir=$(host_dir "$host")
  until [[ -e $dir/ready ]]; do
    [[ -e $dir/init-failed ]] && die "$host failed to start: $(cat "$dir/init-failed"); see $dir/subreaper.log"
    ((SECONDS < deadline)) || die "$host did not start within 60 s; see $dir/subreaper.log"
    sleep 0.02
  done
}

lvirsh() {
  local host=$1
  shift
  virsh -q -c "$(socket_uri "$host")" "$@"
}

vm_xml() {
  local name=$1
  cat <<EOF
<domain type='qemu'>
  <name>$name</name>
  <uuid>$(vm_uuid "$name")</uuid>
  <title>Ferry lab guest</title>
  <memory unit='MiB'>64</memory>
  <currentMemory unit='MiB'>64</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='$(vm_disk_cache "$name")'/>
      <source file='$(vm_disk_path "$name")'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

ensure_pool() {
  local host=$1
  if ! lvirsh "$host" pool-info default >/dev/null 2>&1; then
    lvirsh "$host" pool-define-as default dir --target "$IMAGES" >/dev/null
  fi
  mkdir -p "$(host_dir "$host")/var-lib-libvirt/images"
  if [[ $(lvirsh "$host" pool-info default | awk -F': *' '$1=="State"{print $2}') != running ]]; then
    lvirsh "$host" pool-start default >/dev/null
  fi
  lvirsh "$host" pool-autostart default >/dev/null
  lvirsh "$host" pool-refresh default >/dev/null
}

vol_names() { lvirsh "$1" vol-list default | awk 'NF {print $1}'; }

# Defines NAME on HOST from scratch (fresh empty disk) and puts it in its initial state.
create_vm() {
  local host=$1 name=$2 dir
  dir=$(host_dir "$host")
  ensure_vm_disk "$host" "$name"
  vm_xml "$name" >"$dir/xml/$name.xml"
  lvirsh "$host" define "$dir/xml/$name.xml" >/dev/null
  if [[ $(vm_initial_state "$name") == running ]]; then
    lvirsh "$host" start "$name" >/dev/null
  fi
}

provision_host() {
  local host=$1 name
  ensure_pool "$host"
  if secure_enabled; then ensure_shared_pool "$host"; fi
  for name in $(vms_on "$host"); do
    create_vm "$host" "$name"
  done
}

write_known_hosts() {
  local host
  for host in "${HOSTS[@]}"; do
    known_hosts_line "$host" "$(host_ip "$host")"
  done >"$KNOWN_HOSTS"
}

write_hosts_json() {
  local args=() host
  for host in "${HOSTS[@]}"; do
    args+=("$host" "$(host_ip "$host")" "$(ssh_uri "$host")" "$(display_uri "$host")" "$(fingerprint "$host")"
      "$(host_uuid "$host")" "$(socket_uri "$host")" "$(libssh_uri "$host")")
  done
  node -e '
    const [out, key, knownHosts, ...rest] = process.argv.slice(1);
    const hosts = [];
    for (let i = 0; i < rest.length; i += 8) {
      const [alias, ip, uri, displayUri, fingerprint, hostUuid, socketUri, libsshUri] = rest.slice(i, i + 8);
      hosts.push({ alias, ip, uri, displayUri, fingerprint, hostUuid, keyfile: key, knownHosts, socketUri, libsshUri });
    }
    require("node:fs").writeFileSync(out, JSON.stringify(hosts, null, 2) + "\n");
  ' "$LAB_DIR/hosts.json" "$KEY" "$KNOWN_HOSTS" "${args[@]}"
}

# The URIs Ferry will use, exercised end to end: the lab key, the host key checked (stdin closed, so an
# unknown key fails instead of waiting for a "yes").
check_ssh_uri() {
  local host=$1 uri out
  for uri in "$(ssh_uri "$host")" "$(libssh_uri "$host")"; do
    out=$(virsh -c "$uri" hostname </dev/null 2>&1) || die "$host: virsh -c $uri failed: $out"
    [[ $out == "$host" ]] || die "$host: $uri answered hostname '$out', expected '$host'"
  done
}

print_summary() {
  local host
  echo "Ferry lab is up ($LAB_DIR). Hosts:"
  for host in "${HOSTS[@]}"; do
    echo "  $host  $(host_ip "$host")"
    echo "    uri:         $(ssh_uri "$host")"
    echo "    fingerprint: $(fingerprint "$host")"
    echo "    host uuid:   $(host_uuid "$host")"
  done
  echo "  hosts.json:  $LAB_DIR/hosts.json"
  echo "Try: virsh -c '$(ssh_uri hv1)' list --all"
}

load_state() {
  # shellcheck disable=SC1090 # written by this script
  [[ -f $STATE ]] && source "$STATE"
  DISK_SIZE=${DISK_SIZE:-${FERRY_LAB_DISK_SIZE:-256M}}
  VM_ON_HV2=${VM_ON_HV2:-${FERRY_LAB_VM_ON_HV2:-0}}
  SECURE=${SECURE:-${FERRY_LAB_SECURE:-0}}
}

cmd_up() {
  local register=0
  local want_disk=${FERRY_LAB_DISK_SIZE:-} want_hv2=${FERRY_LAB_VM_ON_HV2:-} want_secure=${FERRY_LAB_SECURE:-}
  while (($# > 0)); do
    case $1 in
      --register) register=1 ;;
      --disk-size)
        want_disk=${2:?--disk-size needs a value}
        shift
        ;;
      --vm-on-hv2) want_hv2=1 ;;
      --secure) want_secure=1 ;;
      *) die "up: unknown option $1" ;;
    esac
    shift
  done
  require_root
  require_tools
  take_lock

  if ! lab_is_up && [[ -f $UP_COMPLETE ]] && subreapers_alive; then
    log "a daemon is down: starting it again (guests keep their state)"
    cmd_heal
  fi
  if lab_is_up; then
    load_state
    if [[ -n $want_disk && $want_disk != "$DISK_SIZE" ]] || [[ -n $want_hv2 && $want_hv2 != "$VM_ON_HV2" ]] ||
      [[ -n $want_secure && $want_secure != "$SECURE" ]]; then
      echo "lab: already up with disk size $DISK_SIZE, vm on hv2: $VM_ON_HV2, secure: $SECURE; run 'lab.sh down' first to change them" >&2
    fi
    log "already up: nothing to do"
    print_summary
    ((register)) && register_hosts
    return 0
  fi

  DISK_SIZE=${want_disk:-256M}
  VM_ON_HV2=${want_hv2:-0}
  SECURE=${want_secure:-0}
  validate_config
  check_bridge_owner
  if lab_has_remnants; then
    log "found a partial lab: tearing it down first"
    teardown
  fi

  mkdir -p "$LAB_DIR"
  touch "$MARKER"
  build_subreaper
  ensure_keys
  log "keys and subreaper ready"
  setup_network
  log "network: bridge $BRIDGE $BRIDGE_IP/24, namespaces $(netns_name hv1) $(netns_name hv2)"
  printf 'NET_PREFIX=%q\nDISK_SIZE=%q\nVM_ON_HV2=%q\nSECURE=%q\n' "$NET_PREFIX" "$DISK_SIZE" "$VM_ON_HV2" "$SECURE" >"$STATE"
  if secure_enabled; then
    secure_prepare
    log "secure: lab CA, Ferry's client certificate, shared directory"
  fi

  # Each host's own root ~/.ssh is bind-mounted over /root/.ssh (host-init.sh), so the mount point must exist
  # before the hosts start; `up` creates root's known_hosts there below anyway, so nothing else is touched.
  mkdir -p -m 0700 /root/.ssh

  local host
  for host in "${HOSTS[@]}"; do
    prepare_host_dir "$host"
    start_host "$host"
  done
  for host in "${HOSTS[@]}"; do
    wait_host_ready "$host"
  done
  log "daemons started on ${HOSTS[*]}"

  write_known_hosts
  add_client_known_hosts
  local pids=() pid
  for host in "${HOSTS[@]}"; do
    provision_host "$host" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || die "provisioning failed (see output above)"
  done
  log "pools and guests ready (disk $DISK_SIZE)"

  write_hosts_json
  pids=()
  for host in "${HOSTS[@]}"; do
    check_ssh_uri "$host" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || die "a host is not reachable by its qemu+ssh URI"
  done
  log "both hosts answer over qemu+ssh and qemu+libssh, host keys checked"
  if secure_enabled; then
    secure_patch_hosts_json
    secure_check
    log "secure: both hosts answer over qemu+tls (Ferry's certificate and each other's)"
  fi
  date -u +%FT%TZ >"$UP_COMPLETE"
  print_summary
  ((register)) && register_hosts
  log "up done"
}

teardown() {
  local host pid deadline
  REAPED_ZOMBIES=()
  for host in "${HOSTS[@]}"; do
    stop_host "$host"
  done
  # The subreapers' parent is PID 1 (their launching shell is long gone), which reaps only every ~2 s:
  # wait, so that `down` returns with not even a zombie left.
  deadline=$((SECONDS + 5))
  for pid in "${REAPED_ZOMBIES[@]}"; do
    while [[ -e /proc/$pid ]] && ((SECONDS < deadline)); do sleep 0.05; done
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link del "$BRIDGE"
    log "bridge $BRIDGE removed"
  fi
  if [[ -f $CLIENT_KNOWN_HOSTS_ADDED ]]; then
    log "removing $(wc -l <"$CLIENT_KNOWN_HOSTS_ADDED") lab host key line(s) from $CLIENT_KNOWN_HOSTS"
  fi
  remove_client_known_hosts
  local veth
  for host in "${HOSTS[@]}"; do
    veth=$(veth_name "$host")
    if ip link show "$veth" >/dev/null 2>&1; then
      ip link del "$veth"
      log "link $veth removed"
    fi
  done
  # Runtime state only; keys stay so fingerprints survive (down --purge removes them).
  if [[ -f $MARKER ]]; then
    for host in "${HOSTS[@]}"; do
      rm -rf "$(host_dir "$host")"
    done
    rm -f "$UP_COMPLETE" "$STATE" "$KNOWN_HOSTS" "$LAB_DIR/hosts.json"
  fi
  secure_teardown
}

# Prints one line per piece of a lab still on this machine, whoever started it: a ferrylab network namespace,
# the bridge or a veth, a process whose command line names the lab's state dir, a mount under it, a lab host
# key line in the client's known_hosts, runtime state files. Exit 1 if it printed anything. `down` ends with
# this, so a teardown that missed something fails loudly instead of leaving it for the next run.
list_leftovers() {
  local found=0 name pid cmdline
  for name in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    [[ $name == ferrylab-* ]] && echo "lab: network namespace $name" && found=1
  done
  for name in /run/netns/ferrylab-*; do
    [[ -e $name ]] && echo "lab: namespace file $name" && found=1
  done
  for name in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ $name == "$BRIDGE" || $name == flab-* ]] && echo "lab: network link $name" && found=1
  done
  local args stat comm
  # Builtins only (mapfile, read): a fork per process would take seconds on a busy machine.
  for pid in /proc/[0-9]*; do
    mapfile -d '' -t args 2>/dev/null <"$pid/cmdline" || continue
    cmdline=${args[*]}
    [[ $cmdline == *"$LAB_DIR/"* ]] || continue
    read -r stat 2>/dev/null <"$pid/stat" || continue
    stat=${stat##*) }
    [[ ${stat:0:1} == Z ]] && continue
    read -r comm 2>/dev/null <"$pid/comm" || comm=?
    echo "lab: process ${pid#/proc/} $comm: ${cmdline:0:160}"
    found=1
  done
  if grep -q " $LAB_DIR/" /proc/self/mounts; then
    grep " $LAB_DIR/" /proc/self/mounts | awk '{print "lab: mount " $2}'
    found=1
  fi
  if [[ -f $CLIENT_KNOWN_HOSTS ]] && grep -q ' ferry-lab-hv[0-9]$' "$CLIENT_KNOWN_HOSTS"; then
    echo "lab: host key lines for ferry-lab-hv* in $CLIENT_KNOWN_HOSTS"
    found=1
  fi
  for name in "$STATE" "$UP_COMPLETE" "$CLIENT_KNOWN_HOSTS_ADDED" "$(host_dir hv1)" "$(host_dir hv2)"; do
    [[ -e $name ]] && echo "lab: runtime state $name" && found=1
  done
  secure_leftovers || found=1
  return $((found == 0 ? 0 : 1))
}

cmd_down() {
  local purge=0
  [[ ${1:-} == --purge ]] && purge=1
  require_root
  [[ -d $LAB_DIR ]] || {
    echo "lab: nothing to do ($LAB_DIR does not exist)"
    list_leftovers >&2 || die "down: but a lab's remnants are on this machine (listed above)"
    return 0
  }
  take_lock
  check_bridge_owner
  teardown
  if ((purge)) && [[ -f $MARKER ]]; then
    rm -rf "$LAB_DIR"
  fi
  local left
  if ! left=$(list_leftovers); then
    echo "$left" >&2
    die "down: the lab is not fully gone (listed above)"
  fi
  log "down: checked: no lab processes, namespaces, links, mounts, host key lines or runtime state left"
}

cmd_status() {
  local ok=0 host dir pid name
  if [[ ! -f $STATE ]]; then
    echo "lab: down"
    lab_has_remnants && {
      echo "lab: remnants found (run lab.sh down)"
      return 1
    }
    return 3
  fi
  load_state
  if ip link show "$BRIDGE" >/dev/null 2>&1; then echo "bridge $BRIDGE: up"; else
    echo "bridge $BRIDGE: MISSING"
    ok=1
  fi
  for host in "${HOSTS[@]}"; do
    dir=$(host_dir "$host")
    echo "$host $(host_ip "$host") netns $(netns_name "$host"): $([[ -e /run/netns/$(netns_name "$host") ]] && echo present || echo MISSING)"
    for name in subreaper virtlogd libvirtd sshd; do
      if pid=$(pid_from_file "$dir/$name.pid" "$name"); then echo "  $name pid $pid"; else
        echo "  $name NOT RUNNING"
        ok=1
      fi
    done
    if pid_from_file "$dir/libvirtd.pid" libvirtd >/dev/null; then
      lvirsh "$host" list --all | sed 's/^/  /'
    fi
  done
  return $ok
}

# --- reset -----------------------------------------------------------------------------------------

# Puts every guest back on its home host in its initial state, removes guests and volumes that tests
# left behind (migrated copies, aborted-migration leftovers), and recreates the pool if a test removed it.
reset_host() {
  local host=$1 dir name uuid state want
  dir=$(host_dir "$host")
  local -A wanted=()
  for name in $(vms_on "$host"); do
    wanted[$name]=1
  done

  for name in $(lvirsh "$host" list --state-running --state-paused --name); do
    lvirsh "$host" domjobabort "$name" >/dev/null 2>&1 || true
  done
  for name in $(lvirsh "$host" list --all --name); do
    uuid=$(lvirsh "$host" domuuid "$name" 2>/dev/null) || continue
    if [[ -z ${wanted[$name]:-} || $uuid != "$(vm_uuid "$name")" ]]; then
      lvirsh "$host" destroy "$name" >/dev/null 2>&1 || true
      lvirsh "$host" undefine "$name" >/dev/null 2>&1 || true
    fi
  done

  ensure_pool "$host"
  if secure_enabled; then ensure_shared_pool "$host"; fi
  local vol
  for vol in $(vol_names "$host"); do
    name=${vol%.qcow2}
    if [[ -z ${wanted[$name]:-} || $vol != "$name.qcow2" || $(vm_pool "$name") != default ]]; then
      lvirsh "$host" vol-delete "$vol" --pool default >/dev/null
    fi
  done

  for name in "${!wanted[@]}"; do
    want=$(vm_initial_state "$name")
    if ! lvirsh "$host" dominfo "$name" >/dev/null 2>&1; then
      ensure_vm_disk "$host" "$name"
      vm_xml "$name" >"$dir/xml/$name.xml"
      lvirsh "$host" define "$dir/xml/$name.xml" >/dev/null
    fi
    state=$(lvirsh "$host" domstate "$name")
    case "$want:$state" in
      "running:running" | "shut off:shut off") ;;
      running:paused) lvirsh "$host" resume "$name" >/dev/null ;;
      "running:shut off") lvirsh "$host" start "$name" >/dev/null ;;
      running:*)
        lvirsh "$host" destroy "$name" >/dev/null
        lvirsh "$host" start "$name" >/dev/null
        ;;
      "shut off:"*) lvirsh "$host" destroy "$name" >/dev/null ;;
    esac
    if ! lvirsh "$host" dominfo "$name" | grep -q '^Persistent: *yes'; then
      lvirsh "$host" define "$dir/xml/$name.xml" >/dev/null
    fi
  done
}

verify_initial_state() {
  local host name expected actual
  for host in "${HOSTS[@]}"; do
    expected=$(for name in $(vms_on "$host"); do echo "$name $(vm_initial_state "$name")"; done | sort)
    actual=$(for name in $(lvirsh "$host" list --all --name); do echo "$name $(lvirsh "$host" domstate "$name")"; done | sort)
    [[ $expected == "$actual" ]] || die "reset: $host has [$actual], expected [$expected]"
    expected=$(for name in $(vms_on "$host"); do if [[ $(vm_pool "$name") == default ]]; then echo "$name.qcow2"; fi; done | sort)
    actual=$(vol_names "$host" | sort)
    [[ $expected == "$actual" ]] || die "reset: $host volumes [$actual], expected [$expected]"
  done
}

cmd_reset() {
  require_root
  take_lock
  if ! lab_is_up && [[ -f $UP_COMPLETE ]]; then
    log "reset: a daemon is down; starting it again first"
    cmd_heal
  fi
  lab_is_up || die "lab is not up (run lab.sh up)"
  load_state
  local host pids=() pid
  for host in "${HOSTS[@]}"; do
    reset_host "$host" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || die "reset failed (see output above)"
  done
  verify_initial_state
  secure_reset
  log "reset: guests back in their initial places and states"
}

# Stops one daemon of one host (by its pidfile), for tests of a host whose libvirtd or sshd is down.
cmd_stop() {
  local host=${1:-} daemon=${2:-} pid
  [[ $host == hv1 || $host == hv2 ]] || die "stop: host must be hv1 or hv2"
  [[ $daemon == libvirtd || $daemon == sshd || $daemon == virtlogd ]] || die "stop: daemon must be libvirtd, sshd or virtlogd"
  require_root
  pid=$(pid_from_file "$(host_dir "$host")/$daemon.pid" "$daemon") || {
    log "$host: $daemon is not running"
    return 0
  }
  # A libvirtd busy with an incoming migration may hold its shutdown past 10 s (its workers finish their calls
  # first); it is then killed, which is the "host died" the tests want anyway.
  if ! kill_and_wait TERM 10 "$pid" >/dev/null; then
    log "$host: $daemon ($pid) did not stop within 10 s of SIGTERM; sending SIGKILL"
    kill_and_wait KILL 5 "$pid" >/dev/null || die "$host: $daemon ($pid) did not stop"
  fi
  log "$host: $daemon ($pid) stopped; 'lab.sh heal' starts it again"
}

# Restarts every stopped daemon inside its host's namespaces, as a child of the host's subreaper.
cmd_heal() {
  require_root
  [[ -f $STATE ]] || die "lab is not up (run lab.sh up)"
  local host dir reaper deadline
  for host in "${HOSTS[@]}"; do
    dir=$(host_dir "$host")
    reaper=$(pid_from_file "$dir/subreaper.pid" subreaper) || die "$host: subreaper is gone; run lab.sh down && lab.sh up"
    rm -f "$dir/healed" "$dir/init-failed"
    kill -USR1 "$reaper"
  done
  for host in "${HOSTS[@]}"; do
    dir=$(host_dir "$host")
    deadline=$((SECONDS + 30))
    until [[ -e $dir/healed ]] && host_daemons_alive "$host"; do
      [[ -e $dir/init-failed ]] && die "$host: heal failed: $(cat "$dir/init-failed")"
      ((SECONDS < deadline)) || die "$host: daemons not back within 30 s; see $dir/subreaper.log"
      sleep 0.02
    done
    # libvirtd answers only once its drivers are initialised.
    lvirsh "$host" version >/dev/null
  done
  log "heal: every daemon on ${HOSTS[*]} is running"
}

register_hosts() {
  (cd "$REPO_DIR" && npx --no-install tsx --conditions=react-server "$SCRIPT_DIR/register.ts" "$LAB_DIR/hosts.json")
}

cmd_register() {
  lab_is_up || die "lab is not up (run lab.sh up)"
  register_hosts
}

cmd_uris() {
  lab_is_up || die "lab is not up (run lab.sh up)"
  print_summary
}

main() {
  local cmd=${1:-}
  (($# > 0)) && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status || exit $? ;;
    reset | reset-vms) cmd_reset ;;
    register) cmd_register ;;
    stop) cmd_stop "$@" ;;
    heal) cmd_heal ;;
    uris) cmd_uris ;;
    leftovers) list_leftovers || exit 1 ;;
    tls-rogue) cmd_tls_rogue "$@" ;;
    *)
      sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      [[ -z $cmd || $cmd == help || $cmd == -h || $cmd == --help ]] || exit 2
      ;;
  esac
}

main "$@"
