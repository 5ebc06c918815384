# shellcheck shell=bash
# The prelude of every guest step. numacage sends this file, the files the step's script names on
# its "# needs:" lines, then the script, as they are, as one SSH command that root's login shell (bash)
# runs, after a line that exports the values it computes (node ids C and P, counts, tunables) in
# UPPERCASE variables (src/invariants/guest-scripts.ts). Under TCG every program a step starts costs
# about 55 ms of guest CPU: what runs often (waits, counters) uses the shell's builtins.

# Where numacage installs its static probe (GUEST_PROBE_PATH in src/invariants/shell.ts).
numacage_probe=/usr/local/bin/numacage-probe

# run_probe ARGS...: the probe as root; its status is the probe's.
run_probe() {
  "$numacage_probe" "$@"
}

# exec_probe ARGS...: replaces the shell with the probe as root (a background job's $! is then the
# probe itself, which a caller can wait to stop and continue).
exec_probe() {
  exec "$numacage_probe" "$@"
}

# exec_probe_as_user ARGS...: replaces the shell with the probe run as the unprivileged user, with no
# capability left (root's CAP_SYS_NICE bypasses the permission paths under test).
exec_probe_as_user() {
  exec setpriv --reuid=probe --regid=probe --init-groups --inh-caps=-all "$numacage_probe" "$@"
}

# probe_as_user ARGS...: the probe as the unprivileged user, then "# exit N" with its status.
probe_as_user() {
  (exec_probe_as_user "$@")
  echo "# exit $?"
}

# probe_as_root ARGS...: the probe as root, then "# exit N" with its status.
probe_as_root() {
  run_probe "$@"
  echo "# exit $?"
}

# node_file N FILE: the path of FILE of NUMA node N.
node_file() {
  echo "/sys/devices/system/node/node$1/$2"
}

# unless_missing PATH: ends the step with "### none" when PATH, the kernel feature it needs, is absent.
unless_missing() {
  [ -e "$1" ] || {
    echo "### none"
    exit 0
  }
}

# setup_failed REASON...: ends the step with a "### setup-failed" section saying what the step needed
# of the guest and did not get; the check is then an error, never an answer of the kernel's.
setup_failed() {
  echo "### setup-failed"
  echo "$*"
  exit 0
}

# nap SECS: sleeps SECS (a fraction) in the shell itself. Every program started costs about 55 ms of
# guest CPU under TCG, so a loop of `grep` and `sleep 0.05` kept a vCPU busy the whole wait (measured:
# 4.6 s of QEMU's CPU in 5 s; this and state_of: 0.6 s). A read with a timeout from a FIFO that no
# one writes to sleeps instead.
nap_fd=""
nap() {
  if [ -z "$nap_fd" ]; then
    [ -p /tmp/numacage-nap ] || mkfifo /tmp/numacage-nap 2> /dev/null || [ -p /tmp/numacage-nap ] ||
      setup_failed "no FIFO /tmp/numacage-nap to sleep on"
    exec {nap_fd}<> /tmp/numacage-nap
  fi
  read -rt "$1" -u "$nap_fd" _ || :
}

# state_of PID: sets state to PID's state letter (R, S, T, Z...) from /proc/PID/status, or to "" once
# PID is gone; read by the shell itself (see nap).
state_of() {
  local key value
  state=""
  { while read -r key value; do
    [ "$key" = State: ] && state=${value:0:1} && break
  done < "/proc/$1/status"; } 2> /dev/null
  return 0
}

# gone PID: whether PID has ended (a zombie counts: it only waits for its parent's wait).
gone() {
  state_of "$1"
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# retry_for SECS COMMAND...: COMMAND until it succeeds, every 0.1 s for SECS seconds of wall time at
# most; the last status.
retry_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    nap 0.1
  done
}

# try_write VALUE FILE: writes VALUE to FILE, a kernel knob; the status is the write's, and a refused
# write leaves the kernel's reason (its strerror) in $refusal. A FILE that cannot be opened is no
# answer of the kernel's: the step ends in setup_failed.
try_write() {
  local err
  err=$({ echo "$1" > "$2"; } 2>&1) && return 0
  case $err in
    *"write error: "*) refusal=${err##*write error: } ;;
    *) setup_failed "$2 could not be opened: ${err##*: }" ;;
  esac
  return 1
}

# write_answer VALUE FILE ACCEPTED REFUSED: try_write, then prints ACCEPTED (if not empty), or REFUSED
# and the kernel's reason (and returns 1).
write_answer() {
  if try_write "$1" "$2"; then
    [ -z "$3" ] || echo "$3"
  else
    echo "$4 $refusal"
    return 1
  fi
}

# setup_write VALUE FILE: try_write for what the step sets up; a refusal ends it in setup_failed.
setup_write() {
  try_write "$1" "$2" || setup_failed "$2 refused $1: $refusal"
}

# mems_answer MEMS FILE EFFECTIVE: writes MEMS to FILE, a cpuset.mems, then prints
# "mems-accepted" with the contents of EFFECTIVE, or "mems-refused" with the kernel's reason (and
# returns 1).
mems_answer() {
  write_answer "$1" "$2" "" mems-refused && echo "mems-accepted $(< "$3")"
}

# v2_cpuset: cpuset enabled for the children of the cgroup v2 root. memory-spread lends the
# controller to a v1 hierarchy; it comes back once that hierarchy is gone, asynchronously.
v2_cpuset() {
  local root=/sys/fs/cgroup
  grep -qw cpuset "$root/cgroup.subtree_control" && return 0
  retry_for 60 grep -qw cpuset "$root/cgroup.controllers" ||
    setup_failed "cpuset is no controller of the cgroup v2 root after 60 s (/proc/cgroups: $(grep '^cpuset' /proc/cgroups))"
  setup_write +cpuset "$root/cgroup.subtree_control"
}

# in_cgroup CGROUP ARGS...: runs the probe as the unprivileged user inside CGROUP, in the background
# (its pid in $!).
in_cgroup() {
  local cgroup=$1
  shift
  (echo "$BASHPID" > "$cgroup/cgroup.procs" && exec_probe_as_user "$@") &
}

# ends_within PID SECS: whether PID (a child of this shell) ends within SECS seconds of wall time
# (counted by the clock, not by turns of the loop: a guest busy printing a kernel complaint at
# every retried fault runs each turn many times slower).
ends_within() {
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    gone "$1" && return 0
    nap 0.05
  done
  gone "$1"
}

# await_bounded PID CGROUP SECS: waits SECS seconds at most for PID, a task of CGROUP, then prints
# "# exit N"; or kills every task of the cgroup (cgroup.kill) and prints "# hung SECS", or
# "# unkillable SECS" when that has not ended it 10 s later (the step then goes on without it): a
# task that loops in the kernel ends the case instead of hanging the step.
await_bounded() {
  local pid=$1 cgroup=$2 secs=$3
  if ends_within "$pid" "$secs"; then
    wait "$pid"
    echo "# exit $?"
  else
    echo 1 > "$cgroup/cgroup.kill"
    if ends_within "$pid" 10; then
      wait "$pid"
      echo "# hung $secs"
    else
      echo "# unkillable $secs"
    fi
  fi
}

# write_within SECS VALUE FILE: writes VALUE to FILE, a kernel knob whose write may go on until a
# signal comes; one still going after SECS s is ended (SIGTERM) and fails (status 1).
write_within() {
  (echo "$2" > "$3") 2> /dev/null &
  local pid=$!
  if ends_within "$pid" "$1"; then
    wait "$pid"
    return
  fi
  kill -TERM "$pid"
  wait "$pid"
  return 1
}

# await_stopped PID [SECS]: waits until PID has stopped itself (SIGSTOP) or ended, SECS (10) s at most.
await_stopped() {
  local deadline=$((SECONDS + ${2:-10}))
  while state_of "$1" && [[ $state != [TZX] ]] && [ -n "$state" ] && [ "$SECONDS" -lt "$deadline" ]; do
    nap 0.05
  done
}

# cma_claim AREA PAGES: asks the CMA area's debugfs dir AREA for PAGES pages (cma_alloc()), 120 s at
# most, then prints how many pages the area has handed out.
cma_claim() {
  (echo "$2" > "$1/alloc") 2>&1 &
  if ends_within "$!" 120; then wait "$!"; echo "# exit $?"; else echo "# hung 120"; fi
  echo "used $(< "$1/used")"
}

# kernel_complaints MARKER: the console's oopses, BUGs and warnings logged after MARKER (a line this
# step wrote to /dev/kmsg).
kernel_complaints() {
  dmesg | sed -n "/$1/,\$p" | grep -E 'BUG:|Oops|WARNING:|general protection|page allocation failure|Kernel panic' || true
}
