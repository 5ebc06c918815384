# shellcheck shell=bash
# ksmd stepped by hand, and the probe's ksm-cross tasks (guest/probe/probe.c) run and continued.
#
# ksmd scans pages_to_scan pages each time it wakes, then sleeps sleep_millisecs; a write to
# sleep_millisecs of a value other than the one it read after its batch wakes it at once, for one
# batch (mm/ksm.c, ksm_scan_thread()); a batch also ends at the end of a pass (full_scans goes up).
# ksm_setup BATCH unmerges everything (run=2: every registered mm's KSM pages are copied back, the
# mms that exited leave the list, its cursor goes back to the head and full_scans to 0), stops ksmd
# (run=0), turns smart_scan off (it would skip pages that did not merge for a while) and sets
# pages_to_scan to BATCH and sleep_millisecs to about ten minutes, so that ksmd runs only when
# ksm_step wakes it. A task that registers (MADV_MERGEABLE) while the cursor is at the head goes to
# the end of the list: ksmd visits the tasks in the order they registered.
ksm=/sys/kernel/mm/ksm
ksm_saved=""
ksm_sleep=600000
# The running probe tasks by role (owner, unbound): their pids; each prints into ksm_out ROLE.
declare -A ksm_pid_of=()
ksm_out() { echo "/tmp/numacage-ksm-$1.out"; }

# ksm_save: what ksm_setup changes, put back (and every task killed, everything unmerged) when the
# step ends.
ksm_save() {
  local f
  for f in pages_to_scan sleep_millisecs smart_scan run; do
    [ ! -e "$ksm/$f" ] || ksm_saved="$ksm_saved $f=$(< "$ksm/$f")"
  done
  trap ksm_restore EXIT
}

ksm_restore() {
  local kv pid
  for pid in "${ksm_pid_of[@]}"; do kill -KILL "$pid" 2> /dev/null; done
  echo 2 > "$ksm/run"
  # ksm_saved is a list of name=value words, run last: split on purpose.
  for kv in $ksm_saved; do echo "${kv#*=}" > "$ksm/${kv%%=*}"; done
}

ksm_setup() {
  # The advisor (6.8 on) sets pages_to_scan itself: only "[none]" leaves the batches to the step.
  [ ! -e "$ksm/advisor_mode" ] || grep -q '\[none\]' "$ksm/advisor_mode" ||
    setup_failed "ksm's advisor_mode is not none: $(< "$ksm/advisor_mode")"
  setup_write 2 "$ksm/run"
  setup_write 0 "$ksm/run"
  [ ! -e "$ksm/smart_scan" ] || setup_write 0 "$ksm/smart_scan"
  setup_write "$1" "$ksm/pages_to_scan"
  # A value other than the present one: ksmd, if it sleeps between two batches (as the last step
  # left it), wakes, finds run=0 and waits for run=1, which the first ksm_step writes. The same
  # value would leave it asleep, deaf to run=1.
  ksm_sleep=$(($(ksm_count sleep_millisecs) == 600000 ? 600001 : 600000))
  setup_write "$ksm_sleep" "$ksm/sleep_millisecs"
  nap 0.3
}

ksm_count() { cat "$ksm/$1"; }
# ksm_read VAR FILE: VAR set to the counter FILE, read by the shell itself (see nap in lib.sh).
ksm_read() { read -r "$1" < "$ksm/$2"; }

# ksm_knobs: a "### knobs" section with what decides which pages KSM may merge.
ksm_knobs() {
  local f
  echo "### knobs"
  for f in merge_across_nodes max_page_sharing use_zero_pages; do echo "$f $(cat "$ksm/$f" 2> /dev/null || echo -1)"; done
}

# ksm_wake: the other of 600000 and 600001 into sleep_millisecs, which wakes ksmd for one batch.
ksm_wake() {
  ksm_sleep=$((ksm_sleep == 600000 ? 600001 : 600000))
  setup_write "$ksm_sleep" "$ksm/sleep_millisecs"
}

# ksm_step pass | ksm_step batch N: one batch of ksmd (run=1 the first time, then a new
# sleep_millisecs), then waits, 60 s at most, until full_scans went up (pass), or pages_scanned went
# up by N or full_scans went up (batch); prints "step KIND scans S pages N", what the batch did, for
# the host to check. ksmd reads sleep_millisecs right after its batch, and a write before that read
# would go unheard: a step that sees neither counter move for 10 s wakes ksmd again (it cannot have
# started the batch, which moves pages_scanned page by page, so the write cannot add a batch).
ksm_step() {
  local kind=$1 want=${2-0} scans0 pages0 scans pages deadline=$((SECONDS + 60)) nudge=$((SECONDS + 10))
  ksm_read scans0 full_scans
  ksm_read pages0 pages_scanned
  if [ "$(ksm_count run)" = 0 ]; then setup_write 1 "$ksm/run"; else ksm_wake; fi
  while :; do
    ksm_read scans full_scans
    ksm_read pages pages_scanned
    [ "$scans" -eq "$scans0" ] || break
    [ "$kind" = pass ] || [ "$pages" -lt $((pages0 + want)) ] || break
    [ "$SECONDS" -lt "$deadline" ] ||
      setup_failed "ksmd's $kind ($want pages) did not end within 60 s: $((pages - pages0)) pages scanned, no full scan"
    if [ "$SECONDS" -ge "$nudge" ] && [ "$pages" -eq "$pages0" ]; then
      ksm_wake
      nudge=$((SECONDS + 10))
    fi
    nap 0.1
  done
  # Let ksmd finish its batch and read sleep_millisecs before the next step writes it.
  nap 0.3
  echo "step $kind scans $(($(ksm_count full_scans) - scans0)) pages $(($(ksm_count pages_scanned) - pages0))"
}

ksm_stats() {
  local f
  for f in full_scans pages_scanned pages_shared pages_sharing pages_unshared stable_node_chains stable_node_dups; do
    echo "$f $(cat "$ksm/$f" 2> /dev/null || echo -1)"
  done
}

# ksm_records FILE N: whether FILE holds N records (lines that start with "{") or more.
ksm_records() {
  local line n=0
  while IFS= read -r line; do [[ $line == "{"* ]] && n=$((n + 1)); done < "$1"
  [ "$n" -ge "$2" ]
}
ksm_ready() { ksm_records "$2" "$3" || gone "$1"; }

# ksm_await ROLE N: waits until the task's output holds N records (30 s at most), then until it has
# stopped itself; a task that ended or did not stop ends the step in setup_failed, with what it
# printed.
ksm_await() {
  local pid=${ksm_pid_of[$1]} out
  out=$(ksm_out "$1")
  retry_for 30 ksm_ready "$pid" "$out" "$2"
  if ! ksm_records "$out" "$2"; then
    if gone "$pid"; then
      wait "$pid"
      setup_failed "the $1 probe ended (exit $?) before its record $2: $(< "$out")"
    fi
    setup_failed "the $1 probe printed no record $2 within 30 s: $(< "$out")"
  fi
  await_stopped "$pid"
  state_of "$pid"
  # shellcheck disable=SC2154 # state: set by lib.sh's state_of
  [ "$state" = T ] ||
    setup_failed "the $1 probe did not stop after its record $2: $(< "$out")"
}

# ksm_task ROLE MODE C P NONCE N: the probe's ksm-cross ROLE MODE C P NONCE N as the unprivileged
# user in the background, once it has stopped after its first record.
ksm_task() {
  # Emptied here, not only by the child's redirection: ksm_await must not count the records of the
  # last task of this role before the new one has opened the file.
  : > "$(ksm_out "$1")"
  (exec_probe_as_user ksm-cross "$@") > "$(ksm_out "$1")" &
  ksm_pid_of[$1]=$!
  ksm_await "$1" 1
}

# ksm_resume ROLE N: continues the task and waits until it has stopped after its record N.
ksm_resume() {
  kill -CONT "${ksm_pid_of[$1]}"
  ksm_await "$1" "$2"
}

# ksm_finish ROLE: continues the task to its end, 60 s at most, and prints "# exit N" (or "# hung 60",
# killed, or "# unkillable 60" when even that did not end it), then its records.
ksm_finish() {
  local pid=${ksm_pid_of[$1]}
  kill -CONT "$pid"
  if ends_within "$pid" 60; then
    wait "$pid"
    echo "# exit $?"
  else
    kill -KILL "$pid"
    if ends_within "$pid" 10; then
      wait "$pid"
      echo "# hung 60"
    else
      echo "# unkillable 60"
    fi
  fi
  unset "ksm_pid_of[$1]"
  cat "$(ksm_out "$1")"
}

ksm_nonce() { od -An -N8 -tx8 /dev/urandom | tr -d ' \n'; }
