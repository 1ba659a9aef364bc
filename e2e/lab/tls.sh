# Sourced by lab.sh: the lab's optional "secure" layer (`lab.sh up --secure`, FERRY_LAB_SECURE=1).
#
# - A lab CA (openssl, EC P-256, made fresh on every up: Ferry pins no TLS certificate) and, per host, a
#   server certificate (SAN: its name and IP) and a client certificate, in the layout libvirt and QEMU read
#   by default: /etc/pki/CA/cacert.pem, /etc/pki/libvirt/{servercert,clientcert}.pem,
#   /etc/pki/libvirt/private/{serverkey,clientkey}.pem and /etc/pki/qemu/{ca,server,client}-{cert,key}.pem.
#   Each host sees its own $LAB_DIR/<host>/pki as /etc/pki (bind mount in its namespace), so the source's
#   libvirtd uses its OWN client certificate when it opens a qemu+tls:// destination (--p2p).
# - libvirtd listens on TLS (16514, --listen) and QEMU's migration TLS is configured (migrate_tls_x509_*).
# - Ferry's box gets a client certificate of its own in $LAB_DIR/pki/ferry, named by `pkipath=` in the
#   qemu+tls:// URIs written to hosts.json (`tlsUri`): nothing is written to this machine's /etc/pki.
# - Shared storage: $LAB_DIR/shared is bind-mounted at /var/lib/libvirt/shared in both hosts (what NFS gives
#   a real fleet) and defined there as the pool "shared"; the guests vm-shared (running) and vm-busy (shut off,
#   a memory-dirtying boot sector for post-copy) have their disks in it, home hv1.
# - A rogue CA signs a second client certificate per host: `lab.sh tls-rogue hv1` swaps hv1's client
#   certificates (libvirt and QEMU) for those and lets hv1 trust both CAs, so hv1 presents them and hv2, which
#   trusts only the lab CA, refuses them; `reset` puts the good ones back.
#
# libvirt binds to /etc/pki only if that directory exists: on a machine without it (Debian has none) `up`
# creates it empty, records that in $LAB_DIR/etc-pki.created, and `down` removes it again (rmdir: only if empty).

SECURE_PKI=$LAB_DIR/pki
SECURE_SHARED=$LAB_DIR/shared
SECURE_ETC_PKI_CREATED=$LAB_DIR/etc-pki.created
SHARED_IMAGES=/var/lib/libvirt/shared
TLS_PORT=16514

secure_enabled() { [[ ${SECURE:-0} == 1 ]]; }

tls_uri() { echo "qemu+tls://$(host_ip "$1")/system?pkipath=$SECURE_PKI/ferry"; }

# Which pool holds a guest's disk, and where that pool lives inside a host.
vm_pool() { case $1 in vm-shared | vm-busy) echo shared ;; *) echo default ;; esac; }
vm_disk_path() { if [[ $(vm_pool "$1") == shared ]]; then echo "$SHARED_IMAGES/$1.qcow2"; else echo "$IMAGES/$1.qcow2"; fi; }
# cache=none: libvirt 9.0 only calls a migration without storage copy safe on NFS/GFS2/… or with
# cache none/directsync; a bind-mounted ext4 directory is "shared" for the lab, not for libvirt's statfs check.
vm_disk_cache() { if [[ $(vm_pool "$1") == shared ]]; then echo "none"; else echo "default"; fi; }

# One key + certificate signed by CA_DIR. KIND: server (serverAuth, SAN name and IP) or client (clientAuth).
secure_issue() {
  local ca_dir=$1 kind=$2 cn=$3 out_key=$4 out_cert=$5 san=${6:-}
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature, keyEncipherment"
    if [[ $kind == server ]]; then
      echo "extendedKeyUsage = serverAuth"
      echo "subjectAltName = $san"
    else
      echo "extendedKeyUsage = clientAuth"
    fi
  } >"$ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$out_key" \
    -subj "/O=Ferry lab/CN=$cn" -out "$out_key.csr" 2>/dev/null
  openssl x509 -req -in "$out_key.csr" -CA "$ca_dir/cacert.pem" -CAkey "$ca_dir/cakey.pem" \
    -CAcreateserial -days 30 -sha256 -extfile "$ext" -out "$out_cert" 2>/dev/null
  rm -f "$out_key.csr" "$ext"
  chmod 600 "$out_key"
}

secure_make_ca() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -sha256 \
    -subj "/O=Ferry lab/CN=$name" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout "$dir/cakey.pem" -out "$dir/cacert.pem" 2>/dev/null
  chmod 600 "$dir/cakey.pem"
}

# The CA, the rogue CA and Ferry's client certificate; once per up.
secure_make_pki() {
  rm -rf "$SECURE_PKI"
  mkdir -p "$SECURE_PKI/ferry"
  chmod 700 "$SECURE_PKI"
  secure_make_ca "$SECURE_PKI/ca" "Ferry lab CA"
  secure_make_ca "$SECURE_PKI/rogue-ca" "Not the Ferry lab CA"
  cp "$SECURE_PKI/ca/cacert.pem" "$SECURE_PKI/ferry/cacert.pem"
  secure_issue "$SECURE_PKI/ca" client ferry "$SECURE_PKI/ferry/clientkey.pem" "$SECURE_PKI/ferry/clientcert.pem"
}

# HOST's /etc/pki (as $LAB_DIR/<host>/pki), libvirtd's TLS listener, QEMU's migration TLS, the shared mount point.
secure_prepare_host() {
  local host=$1 dir ip pki
  dir=$(host_dir "$host")
  ip=$(host_ip "$host")
  pki=$dir/pki
  mkdir -p "$pki"/{CA,libvirt/private,qemu,rogue}
  cp "$SECURE_PKI/ca/cacert.pem" "$pki/CA/cacert.pem"
  secure_issue "$SECURE_PKI/ca" server "$host" "$pki/libvirt/private/serverkey.pem" "$pki/libvirt/servercert.pem" \
    "DNS:$host,IP:$ip"
  secure_issue "$SECURE_PKI/ca" client "$host" "$pki/libvirt/private/clientkey.pem" "$pki/libvirt/clientcert.pem"
  # QEMU's own directory: the same identities under the names QEMU's tls-creds-x509 object reads.
  cp "$pki/CA/cacert.pem" "$pki/qemu/ca-cert.pem"
  cp "$pki/libvirt/servercert.pem" "$pki/qemu/server-cert.pem"
  cp "$pki/libvirt/private/serverkey.pem" "$pki/qemu/server-key.pem"
  cp "$pki/libvirt/clientcert.pem" "$pki/qemu/client-cert.pem"
  cp "$pki/libvirt/private/clientkey.pem" "$pki/qemu/client-key.pem"
  # The same host name, signed by a CA nobody trusts: `lab.sh tls-rogue` swaps these in.
  secure_issue "$SECURE_PKI/rogue-ca" client "$host" "$pki/rogue/clientkey.pem" "$pki/rogue/clientcert.pem"
  cp "$pki/libvirt/clientcert.pem" "$pki/rogue/good-clientcert.pem"
  cp "$pki/libvirt/private/clientkey.pem" "$pki/rogue/good-clientkey.pem"

  local conf=$dir/etc-libvirt/libvirtd.conf
  set_conf_key "$conf" listen_tls 1
  set_conf_key "$conf" listen_tcp 0
  set_conf_key "$conf" tls_port "\"$TLS_PORT\""
  set_conf_key "$conf" ca_file '"/etc/pki/CA/cacert.pem"'
  set_conf_key "$conf" cert_file '"/etc/pki/libvirt/servercert.pem"'
  set_conf_key "$conf" key_file '"/etc/pki/libvirt/private/serverkey.pem"'
  conf=$dir/etc-libvirt/qemu.conf
  set_conf_key "$conf" default_tls_x509_cert_dir '"/etc/pki/qemu"'
  set_conf_key "$conf" migrate_tls_x509_cert_dir '"/etc/pki/qemu"'
  # The destination QEMU demands the source QEMU's client certificate, signed by the lab CA.
  set_conf_key "$conf" migrate_tls_x509_verify 1
  # host-init.sh: start libvirtd with --listen, bind pki at /etc/pki and the shared directory.
  touch "$dir/listen-tls"
  mkdir -p "$dir/var-lib-libvirt/shared"
}

secure_prepare() {
  if [[ ! -e /etc/pki ]]; then
    mkdir /etc/pki
    date -u +%FT%TZ >"$SECURE_ETC_PKI_CREATED"
  fi
  secure_make_pki
  rm -rf "$SECURE_SHARED"
  mkdir -p "$SECURE_SHARED"
}

# vm-busy's disk: the boot sector of busy-guest.S (rewrites 16 MiB of guest memory forever, so a live
# migration at 1 MiB/s never converges by itself and the post-copy switch has all the time it needs) in a qcow2.
# vm-busy is shut off until a test starts it: a spinning TCG guest takes a whole core.
secure_create_busy_disk() {
  local file=$1 raw
  mkdir -p "$LAB_DIR/bin"
  if [[ ! -s $LAB_DIR/bin/busy-guest.bin || $SCRIPT_DIR/busy-guest.S -nt $LAB_DIR/bin/busy-guest.bin ]]; then
    as --32 -o "$LAB_DIR/bin/busy-guest.o" "$SCRIPT_DIR/busy-guest.S"
    ld -m elf_i386 -Ttext 0x7c00 --oformat binary -o "$LAB_DIR/bin/busy-guest.bin" "$LAB_DIR/bin/busy-guest.o"
    rm -f "$LAB_DIR/bin/busy-guest.o"
  fi
  raw=$(mktemp)
  cp "$LAB_DIR/bin/busy-guest.bin" "$raw"
  truncate -s 1M "$raw"
  qemu-img convert -q -f raw -O qcow2 "$raw" "$file"
  rm -f "$raw"
  qemu-img resize -q "$file" "$DISK_SIZE"
}

ensure_shared_pool() {
  local host=$1
  if ! lvirsh "$host" pool-info shared >/dev/null 2>&1; then
    lvirsh "$host" pool-define-as shared dir --target "$SHARED_IMAGES" >/dev/null
  fi
  if [[ $(lvirsh "$host" pool-info shared | awk -F': *' '$1=="State"{print $2}') != running ]]; then
    lvirsh "$host" pool-start shared >/dev/null
  fi
  lvirsh "$host" pool-autostart shared >/dev/null
  lvirsh "$host" pool-refresh shared >/dev/null
}

# Makes NAME's disk exist in its pool on HOST (the shared one is made once, for both hosts).
ensure_vm_disk() {
  local host=$1 name=$2
  if [[ $(vm_pool "$name") == shared ]]; then
    if [[ ! -f $SECURE_SHARED/$name.qcow2 ]]; then
      if [[ $name == vm-busy ]]; then
        secure_create_busy_disk "$SECURE_SHARED/$name.qcow2"
      else
        qemu-img create -q -f qcow2 "$SECURE_SHARED/$name.qcow2" "$DISK_SIZE"
      fi
    fi
    ensure_shared_pool "$host"
  elif ! lvirsh "$host" vol-info "$name.qcow2" --pool default >/dev/null 2>&1; then
    lvirsh "$host" vol-create-as default "$name.qcow2" "$DISK_SIZE" --format qcow2 >/dev/null
  fi
}

# Both hosts answer on qemu+tls:// with Ferry's certificate, and each host's libvirtd reaches the other over
# TLS with its own (what a --p2p migration to a qemu+tls:// destination does).
secure_check() {
  local host other out
  for host in "${HOSTS[@]}"; do
    out=$(virsh -c "$(tls_uri "$host")" hostname </dev/null 2>&1) || die "$host: qemu+tls failed: $out"
    [[ $out == "$host" ]] || die "$host: qemu+tls answered hostname '$out', expected '$host'"
    other=$([[ $host == hv1 ]] && echo hv2 || echo hv1)
    out=$(nsenter --net="/run/netns/$(netns_name "$host")" \
      --mount="/proc/$(pid_from_file "$(host_dir "$host")/subreaper.pid" subreaper)/ns/mnt" \
      virsh -c "qemu+tls://$(host_ip "$other")/system" hostname </dev/null 2>&1) ||
      die "$host: its libvirt client could not reach $other over TLS: $out"
  done
}

# hosts.json gains tlsUri (qemu+tls:// with Ferry's pkipath) for every host.
secure_patch_hosts_json() {
  local args=() host
  for host in "${HOSTS[@]}"; do args+=("$host" "$(tls_uri "$host")"); done
  node -e '
    const fs = require("node:fs");
    const [file, ...rest] = process.argv.slice(1);
    const hosts = JSON.parse(fs.readFileSync(file, "utf8"));
    for (let i = 0; i < rest.length; i += 2) hosts.find((h) => h.alias === rest[i]).tlsUri = rest[i + 1];
    fs.writeFileSync(file, JSON.stringify(hosts, null, 2) + "\n");
  ' "$LAB_DIR/hosts.json" "${args[@]}"
}

# `lab.sh tls-rogue HOST [on|off]`: HOST's libvirt and QEMU client certificates signed by the rogue CA (on), or
# the lab CA's again (off). The files are read at each connection/migration, so no daemon restarts.
cmd_tls_rogue() {
  local host=${1:-} mode=${2:-on} pki
  [[ $host == hv1 || $host == hv2 ]] || die "tls-rogue: host must be hv1 or hv2"
  load_state
  secure_enabled || die "tls-rogue: the lab is not up with --secure"
  pki=$(host_dir "$host")/pki
  local cert=$pki/rogue/clientcert.pem key=$pki/rogue/clientkey.pem
  # HOST itself trusts both CAs (libvirt and QEMU refuse to present a certificate their own CA file does not
  # validate), so the refusal comes from the other end, as with a host enrolled by another CA.
  cat "$SECURE_PKI/ca/cacert.pem" "$SECURE_PKI/rogue-ca/cacert.pem" >"$pki/CA/cacert.pem"
  if [[ $mode == off ]]; then
    cert=$pki/rogue/good-clientcert.pem
    key=$pki/rogue/good-clientkey.pem
    cp "$SECURE_PKI/ca/cacert.pem" "$pki/CA/cacert.pem"
  fi
  cp "$pki/CA/cacert.pem" "$pki/qemu/ca-cert.pem"
  cp "$cert" "$pki/libvirt/clientcert.pem"
  cp "$key" "$pki/libvirt/private/clientkey.pem"
  cp "$cert" "$pki/qemu/client-cert.pem"
  cp "$key" "$pki/qemu/client-key.pem"
  log "$host: client certificates now signed by the $([[ $mode == off ]] && echo lab || echo rogue) CA"
}

secure_reset() {
  secure_enabled || return 0
  local host
  for host in "${HOSTS[@]}"; do cmd_tls_rogue "$host" off >/dev/null; done
}

secure_teardown() {
  rm -rf "$SECURE_PKI" "$SECURE_SHARED"
  if [[ -f $SECURE_ETC_PKI_CREATED ]]; then
    rmdir /etc/pki 2>/dev/null && log "removed the empty /etc/pki the lab created"
    rm -f "$SECURE_ETC_PKI_CREATED"
  fi
}

secure_leftovers() {
  local found=0
  [[ -e $SECURE_ETC_PKI_CREATED ]] && echo "lab: /etc/pki created by the lab is still recorded" && found=1
  [[ -e $SECURE_SHARED ]] && echo "lab: runtime state $SECURE_SHARED" && found=1
  [[ -e $SECURE_PKI ]] && echo "lab: runtime state $SECURE_PKI" && found=1
  return $found
}
