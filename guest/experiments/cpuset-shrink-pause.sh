#!/bin/bash
# The pause after cpuset-shrink's shrink on series v2 (docs/private-node.md, finding 1): the step's
# shrink {C,C2,P} -> {C,P} under a child with {C2,P}, then every 100 ms after SIGCONT the task's
# state, wchan, user/system ticks, faults and fill steps, beside a heartbeat shell in another cgroup
# that prints how late each 100 ms sleep wakes (the whole guest slowed, or the task alone). Three
# rounds in one boot. From the top of the tree (the probe from the cache, as a run would upload it):
#   numacage run --kernel built:private-node --topology patches/private-node/migrate.topology.json \
#     --suite none --upload ~/.cache/numacage/probe/*/numacage-probe:/root/numacage-probe \
#     --upload guest/experiments/cpuset-shrink-pause.sh:/root/exp.sh --exec 'bash /root/exp.sh'
# On a kernel with CONFIG_MAGIC_SYSRQ, round 1 also puts every CPU's backtrace on the console 300 ms in.
P=1 C=0 C2=2
probe=/root/numacage-probe
chmod 755 "$probe"; cp "$probe" /usr/local/bin/exp-probe; probe=/usr/local/bin/exp-probe
parent=/sys/fs/cgroup/exp-shrink
child=$parent/child
for pid in $(pgrep -x sshd) $$; do echo -1000 > "/proc/$pid/oom_score_adj"; done
grep -qw cpuset /sys/fs/cgroup/cgroup.subtree_control || echo +cpuset > /sys/fs/cgroup/cgroup.subtree_control

heartbeat() { # prints the wake-up lateness of 100 ms sleeps above 50 ms, with a timestamp
  local last now
  last=$(date +%s%N)
  while :; do
    sleep 0.1
    now=$(date +%s%N)
    [ $(((now - last) / 1000000)) -gt 150 ] && echo "hb late $(((now - last) / 1000000 - 100)) ms at $(((now - t0) / 1000000)) ms"
    last=$now
  done
}

for round in 1 2 3; do
  echo "=== round $round"
  mkdir -p "$parent"
  echo "$C,$C2,$P" > "$parent/cpuset.mems"
  echo +cpuset > "$parent/cgroup.subtree_control"
  mkdir -p "$child"
  echo "$C2,$P" > "$child/cpuset.mems"
  (echo "$BASHPID" > "$child/cgroup.procs" && exec setpriv --reuid=probe --regid=probe --init-groups "$probe" stopped fill 16 4) > /tmp/exp-fill.out &
  pid=$!
  while [ -e "/proc/$pid" ] && ! grep -qs "^State:[[:space:]]*[TZ]" "/proc/$pid/status"; do sleep 0.05; done
  echo 1000 > "/proc/$pid/oom_score_adj"
  echo "$C,$P" > "$parent/cpuset.mems"
  echo "effective $(cat "$child/cpuset.mems.effective")"
  t0=$(date +%s%N)
  export t0
  heartbeat &
  hb=$!
  kill -CONT "$pid"
  while [ -e "/proc/$pid" ] && ! grep -qs "^State:[[:space:]]*Z" "/proc/$pid/status"; do
    now=$(date +%s%N)
    st=$(awk '/^State/{print $2}' "/proc/$pid/status" 2>/dev/null)
    wc=$(cat "/proc/$pid/wchan" 2>/dev/null)
    ticks=$(awk '{print "u"$14"/s"$15}' "/proc/$pid/stat" 2>/dev/null)
    # Once, in round 1, a third of a second after SIGCONT: every CPU's backtrace on the console.
    if [ "$round" = 1 ] && [ -z "${sysrq_done:-}" ] && [ $(((now - t0) / 1000000)) -ge 300 ]; then
      echo 1 > /proc/sys/kernel/sysrq; echo l > /proc/sysrq-trigger; sysrq_done=1; echo "sysrq-l at $(((now - t0) / 1000000)) ms"
    fi
    maj=$(awk '{print $10"/"$12}' "/proc/$pid/stat" 2>/dev/null)
    echo "t=$(((now - t0) / 1000000))ms state=$st wchan=$wc cputicks=$ticks minflt/majflt=$maj steps=$(grep -c '"call":"fault"' /tmp/exp-fill.out)"
    [ $(((now - t0) / 1000000000)) -ge 20 ] && { echo "20 s: killing"; echo 1 > "$child/cgroup.kill"; }
    sleep 0.1
  done
  wait "$pid"
  echo "exit $?"
  kill "$hb"
  grep -o '"mib":[0-9]*,"ms":[0-9]*' /tmp/exp-fill.out | tr '\n' ' '
  echo
  rmdir "$child" "$parent"
done
dmesg | grep -E 'BUG|WARNING|Oops|oom-kill|hung' | tail -20 || true
