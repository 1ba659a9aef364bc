#!/usr/bin/env bash
# Did the test run leave anything behind? scripts/test-all.sh calls this twice:
#
#   check-leftovers.sh snapshot FILE        before the first test: the processes of interest already running
#   check-leftovers.sh check FILE OUT       after the last: every such process not in FILE, and every lab remnant
#
# `check` prints what it found, writes one line per leftover to OUT (empty when clean; summarize-tests.mjs
# counts each line as a failure) and exits 1 if there was any. Processes of interest are the ones a Ferry test
# starts: virsh, QEMU, sshd and ssh (the test sshd, virsh's qemu+ssh sessions), libvirtd/virtlogd and the
# subreapers of the lab, virt-ssh-helper, the Next.js server Playwright starts, and Chromium. A process is
# identified by PID and start time, so a reused PID is not mistaken for one from the snapshot.
set -euo pipefail
cd "$(dirname "$0")/.."

WATCHED_COMM='^(virsh|qemu-system-.*|qemu-img|libvirtd|virtlogd|virtlockd|sshd|sshd-session|ssh|virt-ssh-helper|subreaper|next-server.*|chromium|chrome|headless_shell)$'
# Processes whose name says nothing (node, bash) but whose command line does.
WATCHED_CMDLINE='(next start|next-server|server/net/serve\.ts|e2e/serve\.sh|e2e/lab/)'

# "PID STARTTIME COMM CMDLINE" for every live (non-zombie) process of interest, except this script's ancestors.
list_watched() {
  local -A ancestors=()
  local pid=$$ stat fields
  while [[ $pid -gt 1 ]]; do
    ancestors[$pid]=1
    read -r stat 2>/dev/null <"/proc/$pid/stat" || break
    fields=${stat##*) }
    read -r _ pid _ <<<"$fields"
  done
  local dir comm cmdline state start parts args
  # Builtins only (read, mapfile): one fork per process would make this take seconds on a busy machine.
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ -n ${ancestors[$pid]:-} ]] && continue
    read -r stat 2>/dev/null <"$dir/stat" || continue
    fields=${stat##*) }
    read -r -a parts <<<"$fields"
    state=${parts[0]}
    [[ $state == Z ]] && continue
    # starttime is field 22 of /proc/PID/stat, the 20th after the command name.
    start=${parts[19]}
    read -r comm 2>/dev/null <"$dir/comm" || continue
    mapfile -d '' -t args 2>/dev/null <"$dir/cmdline" || continue
    cmdline=${args[*]}
    if [[ $comm =~ $WATCHED_COMM || $cmdline =~ $WATCHED_CMDLINE ]]; then
      printf '%s %s %s %s\n' "$pid" "$start" "$comm" "${cmdline:0:200}"
    fi
  done
}

case ${1:-} in
  snapshot)
    [[ $# -eq 2 ]] || exec "$0"
    list_watched | cut -d' ' -f1,2 >"$2"
    ;;
  check)
    [[ $# -eq 3 ]] || exec "$0"
    baseline=$2 out=$3
    : >"$out"
    declare -A known=()
    while read -r pid start; do known["$pid $start"]=1; done <"$baseline"
    # A process that is exiting right now is given a moment before it counts.
    for attempt in 1 2 3; do
      found=()
      while read -r pid start comm cmdline; do
        [[ -n ${known["$pid $start"]:-} ]] && continue
        found+=("process $pid ($comm): $cmdline")
      done < <(list_watched)
      ((${#found[@]} == 0)) && break
      ((attempt < 3)) && sleep 1
    done
    ((${#found[@]} == 0)) || printf '%s\n' "${found[@]}" >>"$out"
    if [[ $(id -u) -eq 0 ]]; then
      bash e2e/lab/lab.sh leftovers >>"$out" || true
    fi
    if [[ -s $out ]]; then
      echo "leftovers: the test run left these behind:"
      sed 's/^/  /' "$out"
      exit 1
    fi
    echo "leftovers: none (no test process alive, no lab remnant)"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
