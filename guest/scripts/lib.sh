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
