# shellcheck shell=bash
# (root) One of P's memory blocks offlined (the highest numbered that lets go within 8 s, 8 tried at most), then
# "online_kernel" written to its state: the answer, the block's state and zone, the nodes with normal
# memory. The block is put back online in the zone it was in, on exit.
unless_missing /sys/devices/system/memory/block_size_bytes
block='' was=''
put_back() {
  [ -n "$block" ] || return 0
  [ "$(< "$block/state")" = online ] && [ "$(< "$block/valid_zones")" != "$was" ] && echo offline > "$block/state"
  [ "$(< "$block/state")" = online ] && return 0
  if [ "$was" = Movable ]; then echo online_movable > "$block/state"; else echo online_kernel > "$block/state"; fi
}
trap put_back EXIT
echo "### offline"
tried=0
for n in $(for b in "$(node_file "$P" memory)"[0-9]*; do echo "${b##*memory}"; done | sort -n -r); do
  b=/sys/devices/system/memory/memory$n
  [ "$(< "$b/state")" = online ] || continue
  tried=$((tried + 1))
  was=$(< "$b/valid_zones")
  # Offlining retries a page that will not move until a signal comes.
  if write_within 8 offline "$b/state"; then block=$b; break; fi
  [ "$tried" -lt 8 ] || break
done
echo "tried $tried"
[ -n "$block" ] || exit 0
echo "block ${block##*/} was $was valid_zones $(< "$block/valid_zones")"
echo "### online-kernel"
write_answer online_kernel "$block/state" "answer ok" answer
echo "state $(< "$block/state")"
echo "zone $(< "$block/valid_zones")"
echo "normal_memory $(cat /sys/devices/system/node/has_normal_memory)"
put_back
echo "### after"
echo "state $(< "$block/state")"
echo "zone $(< "$block/valid_zones")"
echo "normal_memory $(cat /sys/devices/system/node/has_normal_memory)"
