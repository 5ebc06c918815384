# shellcheck shell=bash
# ksmd stepped by hand, and the probe's ksm-cross tasks (guest/probe/probe.c) run and continued.
#
# ksmd scans pages_to_scan pages each time it wakes, then sleeps sleep_millisecs; a write to
# sleep_millisecs wakes it at once, for one batch (mm/ksm.c, ksm_scan_thread()). ksm_setup BATCH
# unmerges everything (run=2: every registered mm's KSM pages are copied back, its list loses the
# mms that exited, its cursor goes back to the head and full_scans to 0), stops ksmd (run=0),
# turns smart_scan off (it would skip pages that did not merge for a while) and sets pages_to_scan
# to BATCH and sleep_millisecs to ten minutes, so that ksmd runs only when ksm_step wakes it. A
# task that registers (MADV_MERGEABLE) while the cursor is at the head goes to the end of the
# list: ksmd visits the tasks in the order they registered.
ksm=/sys/kernel/mm/ksm
ksm_saved=""
ksm_pids=""
ksm_sleep=600000

# ksm_save: what ksm_setup changes, put back (and every task killed) when the step ends.
ksm_save() {
  local f
  for f in pages_to_scan sleep_millisecs smart_scan; do
    [ ! -e "$ksm/$f" ] || ksm_saved="$ksm_saved $f=$(cat "$ksm/$f")"
  done
  trap ksm_restore EXIT
}

ksm_restore() {
  local kv pid
  for pid in $ksm_pids; do kill -KILL "$pid" 2> /dev/null; done
  echo 2 > "$ksm/run"
  echo 0 > "$ksm/run"
  # ksm_saved is a list of name=value words: split on purpose.
  for kv in $ksm_saved; do echo "${kv#*=}" > "$ksm/${kv%%=*}"; done
}

ksm_setup() {
  setup_write 2 "$ksm/run"
  setup_write 0 "$ksm/run"
  [ ! -e "$ksm/smart_scan" ] || setup_write 0 "$ksm/smart_scan"
  setup_write "$1" "$ksm/pages_to_scan"
  ksm_sleep=600000
  # Wakes ksmd if it sleeps, which then finds run=0 and waits for run=1.
  setup_write "$ksm_sleep" "$ksm/sleep_millisecs"
  sleep 0.3
}

ksm_count() { cat "$ksm/$1"; }
ksm_above() { [ "$(ksm_count "$1")" -gt "$2" ]; }

# ksm_step pass | ksm_step batch N: one batch of ksmd (run=1 the first time, then a new
# sleep_millisecs), then waits, 60 s at most, until full_scans went up (pass) or pages_scanned went
# up by N (batch); prints "step KIND scans S pages N", what the batch did, for the host to check.
ksm_step() {
  local kind=$1 want=${2-0} scans0 pages0
  scans0=$(ksm_count full_scans)
  pages0=$(ksm_count pages_scanned)
  if [ "$(ksm_count run)" = 0 ]; then
    setup_write 1 "$ksm/run"
  else
    ksm_sleep=$((ksm_sleep == 600000 ? 600001 : 600000))
    setup_write "$ksm_sleep" "$ksm/sleep_millisecs"
  fi
  if [ "$kind" = pass ]; then
    retry_for 60 ksm_above full_scans "$scans0" || setup_failed "ksmd made no full scan within 60 s"
  else
    retry_for 60 ksm_above pages_scanned $((pages0 + want - 1)) ||
      setup_failed "ksmd scanned $(($(ksm_count pages_scanned) - pages0)) of $want pages within 60 s"
  fi
  # ksmd reads sleep_millisecs just after its batch: the next step's write must come after that.
  sleep 0.3
  echo "step $kind scans $(($(ksm_count full_scans) - scans0)) pages $(($(ksm_count pages_scanned) - pages0))"
}

ksm_stats() {
  local f
  for f in full_scans pages_scanned pages_shared pages_sharing pages_unshared stable_node_chains stable_node_dups; do
    echo "$f $(cat "$ksm/$f" 2> /dev/null || echo -1)"
  done
}

ksm_records() { [ "$(grep -c '^{' "$1")" -ge "$2" ]; }

# ksm_await PID OUT N: waits until OUT holds N records (30 s at most) and PID has stopped or ended.
ksm_await() {
  retry_for 30 ksm_records "$2" "$3" || setup_failed "the probe printed no record $3 within 30 s: $(cat "$2")"
  await_stopped "$1"
}

# ksm_task OUT ARGS...: the probe's ksm-cross ARGS as the unprivileged user in the background (its
# pid in $ksm_pid), once it has stopped after its first record.
ksm_task() {
  local out=$1
  shift
  (exec_probe_as_user ksm-cross "$@") > "$out" &
  ksm_pid=$!
  ksm_pids="$ksm_pids $ksm_pid"
  ksm_await "$ksm_pid" "$out" 1
}

# ksm_resume PID OUT N: continues PID and waits for its record N.
ksm_resume() {
  kill -CONT "$1"
  ksm_await "$1" "$2" "$3"
}

# ksm_finish PID OUT: continues PID to its end, then prints "# exit N" and its records.
ksm_finish() {
  kill -CONT "$1"
  wait "$1"
  echo "# exit $?"
  cat "$2"
}

ksm_nonce() { od -An -N8 -tx8 /dev/urandom | tr -d ' \n'; }
