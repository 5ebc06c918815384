# shellcheck shell=bash
# A DAMON migrate_cold scheme whose target_nid is P, over the physical ranges that hold the DAMON_PAGES
# pages a task faulted on C (no policy), for DAMON_WAIT_S seconds at most: until the scheme has been
# tried on every byte of its ranges. The kdamond is switched off and removed on exit.
unless_missing /sys/kernel/mm/damon/admin/kdamonds/nr_kdamonds
admin=/sys/kernel/mm/damon/admin/kdamonds
[ "$(< "$admin/nr_kdamonds")" = 0 ] || {
  echo "busy: $(< "$admin/nr_kdamonds") kdamond(s) already set up"
  exit 0
}
(exec_probe damon-target "$DAMON_PAGES") > /tmp/numacage-damon.out & pid=$!
cleanup() {
  [ "$(cat "$admin/0/state" 2>/dev/null)" = on ] && echo off > "$admin/0/state"
  echo 0 > "$admin/nr_kdamonds"
  kill -CONT "$pid" 2>/dev/null
}
trap cleanup EXIT
await_stopped "$pid"
read -r -a regions <<< "$(sed -n 's/^regions //p' /tmp/numacage-damon.out)"
echo 1 > "$admin/nr_kdamonds"
echo 1 > "$admin/0/contexts/nr_contexts"
ctx=$admin/0/contexts/0
echo "### setup"
if ! echo paddr > "$ctx/operations" 2>/dev/null; then echo "### none"; exit 0; fi
echo 1 > "$ctx/targets/nr_targets"
echo $((${#regions[@]} / 2)) > "$ctx/targets/0/regions/nr_regions"
total=0
for ((i = 0; i < ${#regions[@]}; i += 2)); do
  echo "${regions[i]}" > "$ctx/targets/0/regions/$((i / 2))/start"
  echo "${regions[i + 1]}" > "$ctx/targets/0/regions/$((i / 2))/end"
  total=$((total + regions[i + 1] - regions[i]))
done
echo 1 > "$ctx/schemes/nr_schemes"
scheme=$ctx/schemes/0
echo migrate_cold > "$scheme/action"
# Every region matches: any size, any access count (20 samples per aggregation), any age.
echo $((1 << 40)) > "$scheme/access_pattern/sz/max"
echo 1000 > "$scheme/access_pattern/nr_accesses/max"
echo 4294967295 > "$scheme/access_pattern/age/max"
echo "target_nid $(echo "$P" > "$scheme/target_nid" 2>&1 && cat "$scheme/target_nid")"
echo "regions $((${#regions[@]} / 2))"
echo "bytes $total"
echo on > "$admin/0/state"
stats() { # the scheme's counters, fresh
  local f value
  echo update_schemes_stats > "$admin/0/state"
  for f in nr_tried sz_tried nr_applied sz_applied; do
    read -r value < "$scheme/stats/$f"
    echo "$f $value"
  done
}
wait_s=$DAMON_WAIT_S start=$SECONDS
deadline=$((start + wait_s))
while [ "$SECONDS" -lt "$deadline" ]; do
  nap 0.5
  echo update_schemes_stats > "$admin/0/state"
  read -r tried < "$scheme/stats/sz_tried"
  [ "$tried" -ge "$total" ] && break
done
echo "### stats"
stats
echo "waited $((SECONDS - start))"
cleanup
trap - EXIT
wait "$pid"
status=$?
echo "### pages"
echo "# exit $status"
grep '^{' /tmp/numacage-damon.out
