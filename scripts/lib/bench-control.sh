# Program cost, control-plane and memory phases of scripts/bench.sh (sourced).

# xdplb_prog_cost (the datapath's own BPF_PROG_TEST_RUN benchmark): its table goes into the
# report as it prints it, and its rows (fixed-width: a 38-column name, then ns/pkt, [min-max],
# Mpps, x base) into report.json.
run_prog_cost() {
  if [ ! -x "$PROG_COST" ]; then
    echo "xdplb_prog_cost was not built" >"$RAW/prog_cost.txt"
    return 0
  fi
  taskset -c "$GEN_CPU" timeout 300 "$PROG_COST" >"$RAW/prog_cost.txt" 2>"$RAW/prog_cost.err" ||
    { log "  xdplb_prog_cost failed; see $RAW/prog_cost.err"; return 0; }
  awk 'length($0) > 40 && $0 !~ /^path/ && match(substr($0, 39), /^ *[0-9.]+ +\[[0-9]+-[0-9]+\]/) {
         name = substr($0, 1, 38); sub(/ +$/, "", name)
         split(substr($0, 39), f, " "); gsub(/[\[\]]/, "", f[2]); split(f[2], mm, "-")
         printf "{\"path\": \"%s\", \"ns_per_pkt\": %s, \"min\": %s, \"max\": %s, \"mpps\": %s, \"x_base\": %s}\n",
                name, f[1], mm[1], mm[2], f[3], f[4] }' "$RAW/prog_cost.txt" |
    jq -s --slurpfile pairs <(prog_cost_pairs "$RAW/prog_cost.txt") '{paths: .,
            baseline_ns: (map(select(.path | startswith("baseline"))) | .[0].ns_per_pkt // null),
            known_flow_ns: (map(select(.path | test("known flow.*redirect"))) | .[0].ns_per_pkt // null),
            known_flow_x_base: (map(select(.path | test("known flow.*redirect"))) | .[0].x_base // null),
            trace_off_vs_compiled_out: ($pairs | map(select(.vs == "compiled_out"))),
            second_load_control: ($pairs | map(select(.vs == "second_load")))}' \
    >"$RAW/prog_cost.json" || rm -f "$RAW/prog_cost.json"
}

# xdplb_prog_cost's "trace hook off vs compiled out" tables (rotated rounds in one process): per
# path A and C ns, the median A/C, its interquartile range, its 95 % interval and the verdict;
# then the control, A against a second load of itself ("vs": "second_load").
prog_cost_pairs() {
  awk '/^trace hook off vs compiled out/ { on = 1; vs = "compiled_out"; next }
       on && /^  control, A vs A2/ { vs = "second_load"; next }
       on && seen && /^[^ ]/ { exit }
       on && /^  known flow/ {
         seen = 1; name = substr($0, 3, 36); sub(/ +$/, "", name)
         split(substr($0, 39), f, " "); split(f[5], q, "-"); split(f[6], c, "-")
         printf "{\"vs\": \"%s\", \"path\": \"%s\", \"a_ns\": %s, \"c_ns\": %s, \"ratio\": %s, \"iqr\": [%s, %s], \"ci95\": [%s, %s], \"within_2pct\": \"%s\"}\n",
                vs, name, f[1], f[2], f[4], q[1], q[2], c[1], c[2], f[7] }' "$1"
}

# The builds the control phase times: this one, and with --add-before BIN that binary too,
# alternating try by try (the same load for both); "daemon" is this build with the bridge's
# daemon running, which takes the command over its control socket.
add_builds() { if [ -n "${ADD_BEFORE:-}" ]; then echo before this daemon; else echo this daemon; fi; }
add_binary() { if [ "$1" = before ]; then echo "$ADD_BEFORE"; else echo "$XDPLB_BUILD"; fi; }

# With build "daemon": the bridge's daemon, started in the background (it returns once the
# daemon serves); ADD_DAEMON_PID names it for add_daemon_stop.
add_daemon_start() {
  ADD_DAEMON_PID=""
  [ "$1" = daemon ] || return 0
  xdplb daemon --bridge "$BRIDGE" --log-file "$RAW/add_daemon.log" >>"$RAW/xdplb.log" 2>&1 ||
    { log "  xdplb daemon failed: $(tail -1 "$RAW/xdplb.log")"; return 1; }
  ADD_DAEMON_PID=$(cat "$XDPLB_STATE_DIR/$BRIDGE.daemon.pid")
  sleep 1  # settled as a daemon that runs all along: its start-up writes and state read done
}
add_daemon_stop() {
  [ -n "${ADD_DAEMON_PID:-}" ] || return 0
  kill "$ADD_DAEMON_PID" 2>/dev/null || true
  timeout 5 tail --pid="$ADD_DAEMON_PID" -f /dev/null 2>/dev/null || kill -9 "$ADD_DAEMON_PID" 2>/dev/null || true
  ADD_DAEMON_PID=""
}

# Time from the start of `xdplb backend add` to the first packet at the new backend: a probe
# in the client sends a new UDP flow to VIP:8000 every 200 us while backend 2 is added; a probe
# in backend 2 notes when the first one arrives. Also how long the command itself took.
measure_add_latency() {
  local try build
  : >"$RAW/add_latency.jsonl"
  for try in $(seq 1 "$ADD_TRIES"); do
    for build in $(add_builds); do measure_add_once "$try" "$build" "$(add_binary "$build")"; done
  done
}

# One try with the binary $3 (xdplb() runs $XDPLB: local here, so it is that binary).
measure_add_once() {
  local try=$1 build=$2 XDPLB=$3 t0 t1 first rpid spid
  if ! xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 8000 --backend-port 80 >>"$RAW/xdplb.log" 2>&1 ||
     ! xdplb backend add "$(backend_ip 1)" >>"$RAW/xdplb.log" 2>&1; then
    log "  xdplb attach/backend add failed: $(tail -1 "$RAW/xdplb.log")"
    xdplb_down
    return 0
  fi
  add_daemon_start "$build" || { xdplb_down; return 0; }
  spawn_in "$SRV_CPU" "$(backend_ns 2)" "$PROBE" first --port 80 --seconds 10 >"$BT_TMP/first.txt"
  rpid=$BT_LAST_PID
  spawn_in "$GEN_CPU" "$CLI_NS" "$PROBE" send --dst "$VIP" --port 8000 --interval-us 200 --seconds 8 >/dev/null
  spid=$BT_LAST_PID
  sleep 0.5
  t0=$(date +%s%N)
  xdplb backend add "$(backend_ip 2)" >>"$RAW/xdplb.log" 2>&1
  t1=$(date +%s%N)
  wait "$rpid" 2>/dev/null || true
  first=$(cat "$BT_TMP/first.txt" 2>/dev/null || true)
  stop_pid "$spid"
  add_daemon_stop
  xdplb_down
  if [ -n "$first" ]; then
    jq -nc --argjson first_ms "$(( (first - t0) / 1000 ))e-3" --argjson cmd_ms "$(( (t1 - t0) / 1000 ))e-3" \
      --arg build "$build" --argjson load "$(cut -d' ' -f1 /proc/loadavg)" \
      '{build: $build, to_first_packet_ms: $first_ms, command_ms: $cmd_ms, loadavg: $load}' >>"$RAW/add_latency.jsonl"
  else
    log "  try $try ($build): no packet reached the new backend within 10 s"
    jq -nc --argjson cmd_ms "$(( (t1 - t0) / 1000 ))e-3" --arg build "$build" \
      '{build: $build, to_first_packet_ms: null, command_ms: $cmd_ms}' >>"$RAW/add_latency.jsonl"
  fi
}

# CPU time of `backend add` (perf stat -e task-clock of the command alone, in the host
# namespace): robust to the load, unlike the wall times above. Each try: attach with backend 1,
# add backend 2 under perf, detach; ADD_CPU_TRIES tries per build, alternating the builds.
measure_add_cpu() {
  local try build
  : >"$RAW/add_cpu.jsonl"
  command -v perf >/dev/null || { log "  perf missing: no CPU time of backend add"; return 0; }
  for try in $(seq 1 "$ADD_CPU_TRIES"); do
    for build in $(add_builds); do measure_add_cpu_once "$build" "$(add_binary "$build")" "$BT_TMP/add_cpu.txt"; done
  done
}

measure_add_cpu_once() {
  local build=$1 XDPLB=$2 f=$3 ms
  xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 8000 --backend-port 80 >>"$RAW/xdplb.log" 2>&1 &&
    xdplb backend add "$(backend_ip 1)" >>"$RAW/xdplb.log" 2>&1 || { xdplb_down; return 0; }
  add_daemon_start "$build" || { xdplb_down; return 0; }
  if nsenter --net=/run/netns/"$HOST_NS" perf stat -x, -e task-clock -o "$f" -- \
       "$XDPLB" backend add "$(backend_ip 2)" >>"$RAW/xdplb.log" 2>&1; then
    ms=$(awk -F, '$3 ~ /^task-clock/ { print $1 }' "$f")
    [ -n "$ms" ] && jq -nc --arg build "$build" --argjson cpu "$ms" --argjson load "$(cut -d' ' -f1 /proc/loadavg)" \
      '{build: $build, cpu_ms: $cpu, loadavg: $load}' >>"$RAW/add_cpu.jsonl"
  fi
  add_daemon_stop
  xdplb_down
}

run_control() {
  taskset -c "$GEN_CPU" "$MAGLEV" --runs "$MAGLEV_RUNS" >"$RAW/maglev.json"
  XDPLB_BUILD=$XDPLB
  measure_add_latency
  measure_add_cpu
}

# Bytes per flow: memlock of every pinned table a flow takes entries in (flows, reverse, and
# reverse_new for the SYN-only ones, a share of the others' size) over the flow table's entries,
# scaled to 1 M flows; conntrack's per-entry cost from the nf_conntrack slab.
run_memory() {
  local pins pin name total=0 entries=0 syn_entries=0 syn_bytes=0 mem
  xdplb_up || { xdplb_down; return 0; }
  pins=$XDPLB_PIN_ROOT/$BRIDGE
  {
    echo '{'
    for name in flows reverse reverse_new; do
      pin=$(find "$pins" -maxdepth 3 -name "$name" | head -1)
      [ -n "$pin" ] || continue
      mem=$(bpftool -j map show pinned "$pin")
      echo "\"$name\": $mem,"
      total=$((total + $(jq .bytes_memlock <<<"$mem")))
      [ "$name" = flows ] && entries=$(jq .max_entries <<<"$mem")
      [ "$name" = reverse_new ] && syn_entries=$(jq .max_entries <<<"$mem") && syn_bytes=$(jq .bytes_memlock <<<"$mem")
    done
    # The per-flow figure holds reverse_new at its size here (attach --syn-table; default 1/8 of
    # the flow table): each SYN entry more or less moves the total by syn_table_bytes / entries.
    echo "\"flow_tables\": {\"maps\": [\"flows\", \"reverse\", \"reverse_new\"], \"bytes_memlock\": $total, \"flow_table_entries\": $entries, \"syn_table_entries\": $syn_entries, \"syn_table_bytes\": $syn_bytes},"
    echo "\"conntrack_slab\": $(awk '$1 == "nf_conntrack" { printf "{\"objsize\": %d, \"objperslab\": %d, \"pagesperslab\": %d}", $4, $5, $6; f = 1 } END { if (!f) printf "null" }' /proc/slabinfo)"
    echo '}'
  } >"$RAW/memory.json"
  jq . "$RAW/memory.json" >/dev/null || log "  memory.json is not valid JSON"
  # One snapshot of `xdplb top` (stdout is a file: it prints once and exits).
  timeout 20 "$XDPLB" top --interval 0.5 >"$RAW/top.txt" 2>&1 || log "  xdplb top failed: $(tail -1 "$RAW/top.txt")"
  xdplb_down
}
