#!/usr/bin/env bash
# Captures the TLS failure cases of the secure lab (`lab.sh up --secure`) as
# server/libvirt/fixtures/migration/failures/tls-*.json (and postcopy-switch-too-early.json), in the format of
# capture-fixtures.ts: case, description, argv, exitCode, stdout, stderr, wallSeconds; lab paths read <lab>.
# Resets the lab's guests and certificates at the end. Needs root and the secure lab up.
set -uo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/../.." && pwd)
LAB_DIR=$(realpath -m "${FERRY_LAB_DIR:-$REPO_DIR/.lab}")
OUT=$REPO_DIR/server/libvirt/fixtures/migration/failures
LAB=$SCRIPT_DIR/lab.sh
H1="qemu+ssh://root@10.77.77.11/system?keyfile=$LAB_DIR/keys/id_ed25519"
H2="qemu+ssh://root@10.77.77.12/system?keyfile=$LAB_DIR/keys/id_ed25519"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# capture CASE DESCRIPTION ARGV...: runs virsh ARGV (stdin closed) and writes the fixture.
capture() {
  local name=$1 description=$2 t0 code
  shift 2
  t0=$EPOCHREALTIME
  virsh "$@" </dev/null >"$TMP/out" 2>"$TMP/err"
  code=$?
  node -e '
    const fs = require("node:fs");
    const [out, name, description, code, wall, lab, tmp, stdoutFile, stderrFile, ...argv] = process.argv.slice(1);
    const clean = (text) => text.split(lab).join("<lab>").split(tmp).join("<tmp>");
    const fixture = {
      argv: ["virsh", ...argv].map(clean),
      exitCode: Number(code),
      stdout: clean(fs.readFileSync(stdoutFile, "utf8")),
      stderr: clean(fs.readFileSync(stderrFile, "utf8")),
      wallSeconds: Number(Number(wall).toFixed(3)),
      case: name,
      description,
    };
    fs.writeFileSync(`${out}/${name}.json`, JSON.stringify(fixture, null, 2) + "\n");
  ' "$OUT" "$name" "$description" "$code" "$(bc <<<"$EPOCHREALTIME - $t0")" "$LAB_DIR" "$TMP" "$TMP/out" "$TMP/err" "$@"
  echo "$name: exit $code: $(tr '\r' '\n' <"$TMP/err" | grep -v '^$' | tail -1)"
}

bash "$LAB" reset >/dev/null
bash "$LAB" tls-rogue hv1 on >/dev/null
capture tls-dest-untrusted-nbd \
  "hv1's client certificates from a CA hv2 does not trust (lab.sh tls-rogue hv1); --tls with --copy-storage-all: hv2's NBD server cuts the TLS handshake" \
  -c "$H1" migrate --live --persistent --undefinesource --copy-storage-all --verbose --tls --domain vm1 --desturi "$H2" --migrateuri tcp://10.77.77.12
capture tls-dest-untrusted-memory \
  "the same untrusted certificate, shared storage (vm-shared, --unsafe: the lab's shared directory is not NFS to libvirt): hv2's QEMU cuts the migration stream's TLS handshake" \
  -c "$H1" migrate --live --persistent --undefinesource --unsafe --verbose --tls --domain vm-shared --desturi "$H2" --migrateuri tcp://10.77.77.12
capture tls-dest-untrusted-p2p \
  "the same untrusted certificate, --p2p --tunnelled to qemu+tls://hv2: hv2's libvirtd refuses hv1's libvirtd" \
  -c "$H1" migrate --live --persistent --undefinesource --unsafe --verbose --p2p --tunnelled --domain vm-shared --desturi qemu+tls://10.77.77.12/system
# hv1 trusts only the lab CA again while presenting the rogue certificate: its own libvirt refuses to use it.
cp "$LAB_DIR/pki/ca/cacert.pem" "$LAB_DIR/hv1/pki/CA/cacert.pem"
capture tls-own-cert-invalid \
  "hv1 presents a client certificate that its own CA file does not validate: hv1's libvirt refuses to open the qemu+tls connection" \
  -c "$H1" migrate --live --persistent --undefinesource --copy-storage-all --verbose --p2p --domain vm2 --desturi qemu+tls://10.77.77.12/system
bash "$LAB" tls-rogue hv1 off >/dev/null

mv "$LAB_DIR/hv2/pki/qemu" "$LAB_DIR/hv2/pki/qemu.away"
mkdir "$LAB_DIR/hv2/pki/qemu"
capture tls-no-credentials \
  "hv2 has no QEMU migration certificates (its /etc/pki/qemu is empty): --tls fails when libvirt creates QEMU's TLS object" \
  -c "$H1" migrate --live --persistent --undefinesource --copy-storage-all --verbose --tls --domain vm1 --desturi "$H2" --migrateuri tcp://10.77.77.12
rm -rf "$LAB_DIR/hv2/pki/qemu"
mv "$LAB_DIR/hv2/pki/qemu.away" "$LAB_DIR/hv2/pki/qemu"

# Ferry's own connection: a client certificate hv2 does not trust, and a CA file that does not know hv2.
mkdir -p "$TMP/rogue-client" "$TMP/wrong-ca"
cp "$LAB_DIR/hv1/pki/rogue/clientcert.pem" "$LAB_DIR/hv1/pki/rogue/clientkey.pem" "$TMP/rogue-client/"
cat "$LAB_DIR/pki/ca/cacert.pem" "$LAB_DIR/pki/rogue-ca/cacert.pem" >"$TMP/rogue-client/cacert.pem"
capture tls-client-untrusted \
  "Ferry connects to qemu+tls://hv2 with a client certificate from a CA hv2 does not trust" \
  -c "qemu+tls://10.77.77.12/system?pkipath=$TMP/rogue-client" hostname
cp "$LAB_DIR/hv1/pki/rogue/clientcert.pem" "$LAB_DIR/hv1/pki/rogue/clientkey.pem" "$TMP/wrong-ca/"
cp "$LAB_DIR/pki/rogue-ca/cacert.pem" "$TMP/wrong-ca/cacert.pem"
capture tls-server-untrusted \
  "Ferry connects to qemu+tls://hv2 trusting only another CA: hv2's server certificate is not trusted" \
  -c "qemu+tls://10.77.77.12/system?pkipath=$TMP/wrong-ca" hostname

capture postcopy-switch-too-early \
  "virsh migrate-postcopy with no outgoing migration in its memory phase (none at all, or still copying disks)" \
  -c "$H1" migrate-postcopy --domain vm2

bash "$LAB" reset >/dev/null
