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
