# shellcheck shell=bash
# The prelude of every guest step. numacage sends this file, the files the step's script names on
# its "# needs:" lines, then the script, as they are, to `bash -c` as root over SSH, with the values
# it computes (node ids C and P, counts, tunables) in UPPERCASE environment variables.

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
    grep -qs "^State:[[:space:]]*Z" "/proc/$1/status" || [ ! -e "/proc/$1" ] && return 0
    sleep 0.05
  done
  grep -qs "^State:[[:space:]]*Z" "/proc/$1/status" || [ ! -e "/proc/$1" ]
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

# await_stopped PID: waits until PID has stopped itself (SIGSTOP) or ended, 10 s at most.
await_stopped() {
  local deadline=$((SECONDS + 10))
  while [ -e "/proc/$1" ] && ! grep -q "^State:[[:space:]]*[TZX]" "/proc/$1/status" && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 0.05
  done
}

# kernel_complaints MARKER: the console's oopses, BUGs and warnings logged after MARKER (a line this
# step wrote to /dev/kmsg).
kernel_complaints() {
  dmesg | sed -n "/$1/,\$p" | grep -E 'BUG:|Oops|WARNING:|general protection|page allocation failure|Kernel panic' || true
}
