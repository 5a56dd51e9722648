# Report of scripts/bench.sh (sourced): raw/*.json{,l} -> report.json -> report.md + PNG charts.

# Median / min / max of a list of numbers, as jq functions shared by the programs below.
JQ_STATS='
def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def stats: map(select(. != null)) | {median: median, min: min, max: max, n: length};
# backend add of one build ("this", or "before" with --add-before): wall times, CPU, load.
def add_stats($add; $cpu; $build): ($add | map(select((.build // "this") == $build))) as $a
  | ($cpu | map(select(.build == $build))) as $c
  | {runs: $a, to_first_packet_ms: ($a | map(.to_first_packet_ms) | stats), command_ms: ($a | map(.command_ms) | stats),
     cpu_ms: ($c | map(.cpu_ms) | stats), loadavg: (($a + $c) | map(.loadavg) | stats)};
'

summarize() {
  local slurp_or_empty
  slurp_or_empty() { if [ -s "$1" ]; then jq -s . "$1"; else echo '[]'; fi; }
  jq -n "$JQ_STATS"'
    ($meta) as $meta | ($pr_all | map(select((.generators // 1) == 1))) as $pr | $http as $http | $maglev as $maglev | $add as $add
    | $mem as $mem | $pc as $pc
    # Per-round ratio of a scenario against a baseline in the same round, then its stats.
    | def ratio_vs(rows; key; base; field):
        [rows | group_by(.round)[] | (map(select(key == base))[0][field]) as $b
          | .[] | select($b != null and $b > 0 and .[field] != null) | {k: key, r: (.[field] / $b)}]
        | group_by(.k) | map({key: .[0].k, value: (map(.r) | stats)}) | from_entries;
    {
      meta: $meta,
      packet_rate: {
        method: "live-frames XDP_TX generator on one CPU into the uplink veth; delivered = packets counted by the backends (rx_packets of eth0), mpps = delivered / generator time",
        results: ($pr | group_by(.scenario + "/" + .traffic) | map({
          scenario: .[0].scenario, traffic: .[0].traffic,
          mpps: (map(.mpps) | stats), sent_mpps: (map(.sent_mpps) | stats),
          loss: (map(.loss) | stats)})),
        ratio_vs_nft_dnat: ($pr | group_by(.traffic) | map({key: .[0].traffic,
          value: ratio_vs(.; .scenario; "nft_dnat"; "mpps")}) | from_entries),
        # Time per packet beyond the generator: 1/rate - 1/(XDP_DROP ceiling of the same round
        # and traffic), in ns; and nft DNAT'"'"'s net time over each scenario'"'"'s (same round).
        net_ns: ($pr | map(select(.mpps != null and .mpps > 0)) | group_by(.round + 1000 * (.traffic | length))
          | map((map(select(.scenario == "xdp_drop"))[0].mpps) as $c
            | (map(select(.scenario == "nft_dnat"))[0].mpps) as $n
            | .[] | select($c != null and .scenario != "xdp_drop")
            | {scenario, traffic, net: (1000 / .mpps - 1000 / $c),
               vs_nft: (if $n then (1000 / $n - 1000 / $c) / (1000 / .mpps - 1000 / $c) else null end)})
          | flatten | group_by(.scenario + "/" + .traffic)
          | map({scenario: .[0].scenario, traffic: .[0].traffic, net_ns: (map(.net) | stats),
                 nft_net_over_this: (map(.vs_nft) | stats)})),
        # The same scenario with a generator on each CPU (two uplink RX queues in use) over the
        # one-generator run of the same round.
        two_queues: ($pr_all | map(select(.generators == 2)) | group_by(.scenario + "/" + .traffic) | map(
          .[0] as $f | map(. as $two | ($pr[] | select(.scenario == $two.scenario and .traffic == $two.traffic
              and .round == $two.round) | .mpps) as $one
            | $two + {one_queue_mpps: $one, ratio: (if $one and $one > 0 and $two.mpps then $two.mpps / $one else null end)}) as $rs
          | {scenario: $f.scenario, traffic: $f.traffic,
             label: ({xdplb_redirect: "xdplb redirect path", xdplb_redirect_xdpsink: "xdplb with XDP sinks at the backends"}[$f.scenario] // $f.scenario),
             mpps: ($rs | map(.mpps) | stats), one_queue_mpps: ($rs | map(.one_queue_mpps) | stats),
             ratio: ($rs | map(.ratio) | stats),
             # Least busy queue / CPU over the busiest, per round: 1 = even, 0 = one did it all.
             queue_balance: ($rs | map(.queue_xdp_packets | if length > 1 and max > 0 then min / max else null end) | stats),
             cpu_net_rx_balance: ($rs | map(.cpu_net_rx_softirqs | if length > 1 and max > 0 then min / max else null end) | stats),
             runs: $rs})),
        runs: $pr_all
      },
      http: {
        method: "wrk -t1 -c\($meta.wrk_connections // 50) from the client namespace, nginx backends; wrk and servers on different CPUs",
        results: ($http | group_by(.setup + "/" + .mode) | map({
          setup: .[0].setup, mode: .[0].mode, rps: (map(.rps) | stats),
          p50_ms: (map(.p50_ms) | stats), p99_ms: (map(.p99_ms) | stats),
          socket_errors: (map(.socket_errors) | add),
          client_retrans: (map(.client_retrans // 0) | add), client_syn_retrans: (map(.client_syn_retrans // 0) | add),
          backend_listen_drops: (map(.backend_listen_drops // 0) | add)})),
        ratio_vs_direct: ($http | group_by(.mode) | map({key: .[0].mode,
          value: ratio_vs(.; .setup; "direct"; "rps")}) | from_entries),
        ratio_vs_tutorial: ($http | group_by(.mode) | map({key: .[0].mode,
          value: ratio_vs(.; .setup; "tutorial"; "rps")}) | from_entries),
        p99_ratio_vs_direct: ($http | group_by(.mode) | map({key: .[0].mode,
          value: ratio_vs(.; .setup; "direct"; "p99_ms")}) | from_entries),
        # p99 like with like (same round): one backend vs direct to it, two vs DNAT over the same two.
        p99_ratio: ($http | group_by(.mode) | map(. as $m | {key: .[0].mode, value: {
          "xdplb_1/direct": ratio_vs($m; .setup; "direct"; "p99_ms").xdplb_1,
          "xdplb/nft_dnat": ratio_vs($m; .setup; "nft_dnat"; "p99_ms").xdplb,
          "xdplb/direct": ratio_vs($m; .setup; "direct"; "p99_ms").xdplb}}) | from_entries),
        runs: $http
      },
      control_plane: {
        maglev: $maglev,
        backend_add: add_stats($add; $add_cpu; "this"),
        backend_add_before: (if any($add[]; .build == "before") then add_stats($add; $add_cpu; "before") else null end),
        backend_add_daemon: (if any($add[]; .build == "daemon") then add_stats($add; $add_cpu; "daemon") else null end)
      },
      memory: ($mem | if . == null then null else {
        flows_map: (.flows // null | if . then {max_entries, bytes_key, bytes_value, bytes_memlock,
          per_entry: (.bytes_memlock / .max_entries)} else null end),
        reverse_map: (.reverse // null | if . then {max_entries, bytes_key, bytes_value, bytes_memlock,
          per_entry: (.bytes_memlock / .max_entries)} else null end),
        flow_tables: (.flow_tables // null),
        conntrack_slab: .conntrack_slab
      } | .per_flow_bytes = (if .flow_tables and .flow_tables.flow_table_entries > 0
            then .flow_tables.bytes_memlock / .flow_tables.flow_table_entries
            elif .flows_map and .reverse_map then .flows_map.per_entry + .reverse_map.per_entry else null end)
        | .one_million_flows_mib = (if .per_flow_bytes then .per_flow_bytes * 1e6 / 1048576 else null end)
        | .conntrack_one_million_mib = (if .conntrack_slab then .conntrack_slab.objsize * 1e6 / 1048576 else null end)
      end),
      prog_cost: $pc
    }' \
    --argjson meta "$(cat "$RAW/meta.json")" \
    --argjson pr_all "$(slurp_or_empty "$RAW/pktrate.jsonl")" \
    --argjson http "$(slurp_or_empty "$RAW/http.jsonl")" \
    --argjson maglev "$(cat "$RAW/maglev.json" 2>/dev/null || echo null)" \
    --argjson add "$(slurp_or_empty "$RAW/add_latency.jsonl")" \
    --argjson add_cpu "$(slurp_or_empty "$RAW/add_cpu.jsonl")" \
    --argjson mem "$(cat "$RAW/memory.json" 2>/dev/null || echo null)" \
    --argjson pc "$(cat "$RAW/prog_cost.json" 2>/dev/null || echo null)"
}

charts() {
  command -v gnuplot >/dev/null || { log "gnuplot missing: no charts (scripts/install-deps.sh installs it)"; return 0; }
  local r=$OUT/report.json
  if [ "$(jq '.packet_rate.results | length' "$r")" -gt 0 ]; then
    # One row per scenario: median, min, max for each traffic kind.
    jq -r '.packet_rate.results as $res | ["xdplb_redirect","xdplb_pass","nft_dnat","routing","xdp_drop","xdplb_redirect_xdpsink"][]
      | . as $s | [$s] + ([["udp_1","udp_many","tcp_syn_many"][] as $t
        | (($res[] | select(.scenario == $s and .traffic == $t) | .mpps) // {median:0,min:0,max:0})
        | [.median // 0, .min // 0, .max // 0]] | flatten) | map(tostring) | join(" ")' "$r" >"$RAW/pktrate.dat"
    gnuplot <<GP
set terminal png size 900,500 font ",10" noenhanced
set output "$OUT/packet_rate.png"
set title "Packets delivered to the backends, 64-byte frames, one CPU (median, min-max of $ROUNDS rounds)"
set ylabel "Mpps"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set key top left
set yrange [0:*]
set grid ytics
plot "$RAW/pktrate.dat" using 2:3:4:xtic(1) title "UDP, 1 flow", \
     "" using 5:6:7 title "UDP, $PR_FLOWS flows", \
     "" using 8:9:10 title "TCP SYN, $PR_FLOWS flows"
GP
  fi
  if [ "$(jq '.http.results | length' "$r")" -gt 0 ]; then
    jq -r '.http.results as $res | ["direct","xdplb_1","xdplb","nft_dnat","tutorial","direct_xdp_attached"][] | . as $s
      | [$s] + ([["keepalive","close"][] as $m
        | (($res[] | select(.setup == $s and .mode == $m) | .rps) // {median:0,min:0,max:0})
        | [.median // 0, .min // 0, .max // 0]] | flatten) | map(tostring) | join(" ")' "$r" >"$RAW/http.dat"
    gnuplot <<GP
set terminal png size 800,500 font ",10" noenhanced
set output "$OUT/http.png"
set title "HTTP requests/s, wrk $WRK_CONNECTIONS connections (median, min-max of $ROUNDS rounds)"
set ylabel "requests/s"
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.8 border -1
set key top right
set yrange [0:*]
set grid ytics
plot "$RAW/http.dat" using 2:3:4:xtic(1) title "keep-alive", \
     "" using 5:6:7 title "one request per connection"
GP
  fi
}

markdown() {
  jq -r '
    def f(d): if . == null then "–" else (. * pow(10; d) | round) / pow(10; d) | tostring end;
    def rng(d): if .median == null then "–" else "\(.median | f(d)) (\(.min | f(d))–\(.max | f(d)))"
      + (if (.n // $rounds) < $rounds then " [\(.n) of \($rounds) rounds]" else "" end) end;
    def pct: if . == null then "–" else "\(. * 1000 | round / 10)%" end;
    . as $r |
    "# xdplb benchmark report",
    "",
    "Run \($r.meta.timestamp) on kernel \($r.meta.kernel), \($r.meta.cpus) vCPU (\($r.meta.cpu_model)), git \($r.meta.git // "?")" +
      (if $r.meta.quick == 1 then ", **quick mode** (short runs: a smoke test, not figures to quote)" else "" end) + ".",
    "Every figure is the median of \($r.meta.rounds) interleaved rounds with min–max in brackets; ratios are per-round ratios against a baseline measured in the same round (median, min–max).",
    "1-minute load average at the start / end of the run: \($r.meta.loadavg_start // "?") / \($r.meta.loadavg_end // "?") on \($r.meta.cpus) vCPUs" +
      (if (($r.meta.loadavg_start // 0) > 0.5 or ($r.meta.loadavg_end // 0) > 1.5) then " — **other jobs were running on this machine during the run**: absolute figures are low and noisy; the same-round ratios are what to read." else "." end),
    "",
    (if ($r.meta.xdplb_errors // 0) > 0 then "\n**\($r.meta.xdplb_errors) xdplb command(s) failed during the run** (raw/xdplb.log; a row with fewer rounds than \($r.meta.rounds) lost a round to that). Distinct messages:\n" + ($r.meta.xdplb_error_samples // [] | map("- `\(.)`") | join("\n")) else empty end),
    "## Goals",
    "",
    "| goal | measured | met? |",
    "|---|---|---|",
    ( $r.goals[] | "| \(.goal) | \(.measured) | \(.verdict) |" ),
    "",
    "## 1. Program cost (BPF_PROG_TEST_RUN, `xdplb_prog_cost`)",
    "",
    "```",
    $prog_cost_text,
    "```",
    "",
    "## 2. Packet rate",
    "",
    "Generator: `xdplb_bench_pktgen`, BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, 64-byte frames (60 + FCS) sent by XDP_TX out of the client veth into the host uplink, \($r.meta.packet_rate_seconds) s per run, pinned to CPU \($r.meta.generator_cpu). The whole receive path (uplink NAPI, XDP, forwarding, backend veth NAPI) runs in the generator CPU'"'"'s softirq, so these are **one-core** figures. *Delivered* = packets counted at the backends'"'"' eth0 (rx_packets of eth0) where a tc program drops them; *loss* = 1 − delivered / sent. Many flows = \($r.meta.many_flows) source ports. xdplb has 2 backends; nft DNAT spreads over the same 2 (numgen); routing sends to backend 1 directly. *xdplb_redirect_xdpsink* is xdplb_redirect with the backends dropping by XDP instead of tc: no skb is built anywhere, so it is the load balancer'"'"'s own ceiling (the way the prototype'"'"'s figures were taken); every other row pays for the skb a real backend needs.",
    "",
    "| scenario | UDP 1 flow, Mpps | UDP many flows, Mpps | TCP SYN many flows, Mpps | loss (UDP many) |",
    "|---|---|---|---|---|",
    ( ["xdplb_redirect","xdplb_pass","nft_dnat","routing","xdp_drop","xdplb_redirect_xdpsink"][] as $s
      | ($r.packet_rate.results | map(select(.scenario == $s))) as $rows
      | def cell(t): ($rows[] | select(.traffic == t) | .mpps | rng(2)) // "–";
        "| \($s) | \(cell("udp_1")) | \(cell("udp_many")) | \(cell("tcp_syn_many")) | \(($rows[] | select(.traffic == "udp_many") | .loss.median | pct) // "–") |" ),
    "",
    "Ratio against nft DNAT (same round):",
    "",
    "| scenario | UDP 1 flow | UDP many flows | TCP SYN many flows |",
    "|---|---|---|---|",
    ( ["xdplb_redirect","xdplb_pass","routing","xdp_drop","xdplb_redirect_xdpsink"][] as $s
      | def rc(t): ($r.packet_rate.ratio_vs_nft_dnat[t][$s] // null | if . then "\(rng(2))×" else "–" end);
        "| \($s) | \(rc("udp_1")) | \(rc("udp_many")) | \(rc("tcp_syn_many")) |" ),
    "",
    "Time per packet beyond the generator'"'"'s own (1/rate − 1/XDP_DROP ceiling of the same round and traffic): the generator shares the CPU with the path it feeds, so on a slow run its fixed cost compresses the plain rate ratios above.",
    "",
    "| scenario | UDP 1 flow, ns/pkt | UDP many, ns/pkt | TCP SYN many, ns/pkt | nft DNAT ÷ this (UDP 1 / many / SYN) |",
    "|---|---|---|---|---|",
    ( ["xdplb_redirect","xdplb_pass","nft_dnat","routing","xdplb_redirect_xdpsink"][] as $s
      | ($r.packet_rate.net_ns | map(select(.scenario == $s))) as $rows
      | def nc(t): ($rows[] | select(.traffic == t) | .net_ns | rng(0)) // "–";
        def nr(t): ($rows[] | select(.traffic == t) | .nft_net_over_this.median | f(2)) // "–";
        "| \($s) | \(nc("udp_1")) | \(nc("udp_many")) | \(nc("tcp_syn_many")) | \(nr("udp_1")) / \(nr("udp_many")) / \(nr("tcp_syn_many")) |" ),
    "",
    "Two RX queues on the uplink (RPS off), UDP many flows: a generator on each of the 2 CPUs (a veth puts what CPU c sends into RX queue c and runs that queue'"'"'s NAPI on c), against the one-generator run of the same scenario in the same round. *queue balance* / *CPU balance*: XDP packets of the less busy RX queue over the busier one, and the same for the CPUs'"'"' NET_RX softirqs (1 = even; both well above 0 means both CPUs did XDP work).",
    "",
    "| scenario | two queues, Mpps | one queue, Mpps | × one queue | queue balance | CPU balance |",
    "|---|---|---|---|---|---|",
    ( ($r.packet_rate.two_queues // [])[] |
      "| \(.scenario) | \(.mpps | rng(2)) | \(.one_queue_mpps | rng(2)) | \(.ratio | rng(2))× | \(.queue_balance | rng(2)) | \(.cpu_net_rx_balance | rng(2)) |" ),
    "",
    "![packet rate](packet_rate.png)",
    "",
    "## 3. HTTP",
    "",
    "wrk (1 thread, 50 connections, \($r.meta.http_seconds) s per run) in the client namespace on CPU \($r.meta.generator_cpu), nginx (1 worker each) on CPU \($r.meta.server_cpu); `net.ipv4.tcp_timestamps=2` in the client namespace. *direct*: straight to one backend through the host'"'"'s routing (the ceiling). *xdplb*: VIP:8000, 2 backends on the fast path. *xdplb_1*: xdplb with backend 1 only (like with like against direct: one nginx). *nft_dnat*: VIP:8000, an nft DNAT rule (numgen) over the same 2 backends (like with like against xdplb). *direct_xdp_attached*: as direct, with xdplb attached (its XDP program sees and passes this non-service traffic). *tutorial*: VIP:8000, nft DNAT to an nginx `upstream { least_conn; }` proxy in its own namespace in front of the same 2 backends. Every nginx shares CPU \($r.meta.server_cpu): direct and xdplb_1 use one, xdplb, nft_dnat and the proxy spread over two, so server capacity is the same CPU in all. wrk'"'"'s latency excludes connect time: read req/s next to it. Retransmits: the client namespace'"'"'s RetransSegs and TCPSynRetrans, the backends'"'"' ListenDrops, summed over the rounds.",
    "",
    "| setup | mode | req/s | p50 ms | p99 ms | socket errors | retransmits (SYN) | listen drops |",
    "|---|---|---|---|---|---|---|---|",
    ( ["direct","xdplb_1","xdplb","nft_dnat","tutorial","direct_xdp_attached"][] as $s | ["keepalive","close"][] as $m
      | ($r.http.results[] | select(.setup == $s and .mode == $m)
        | "| \($s) | \($m) | \(.rps | rng(0)) | \(.p50_ms | rng(3)) | \(.p99_ms | rng(3)) | \(.socket_errors) | \(.client_retrans // "–") (\(.client_syn_retrans // "–")) | \(.backend_listen_drops // "–") |") // empty ),
    "",
    "| ratio (same round) | keep-alive | one request per connection |",
    "|---|---|---|",
    "| xdplb / direct req/s | \($r.http.ratio_vs_direct.keepalive.xdplb // null | if . then rng(2) else "–" end) | \($r.http.ratio_vs_direct.close.xdplb // null | if . then rng(2) else "–" end) |",
    "| xdplb / tutorial req/s | \($r.http.ratio_vs_tutorial.keepalive.xdplb // null | if . then rng(2) else "–" end) | \($r.http.ratio_vs_tutorial.close.xdplb // null | if . then rng(2) else "–" end) |",
    "| direct with xdplb attached / direct req/s (cost of XDP on the uplink veth to non-service traffic) | \($r.http.ratio_vs_direct.keepalive.direct_xdp_attached // null | if . then rng(2) else "–" end) | \($r.http.ratio_vs_direct.close.direct_xdp_attached // null | if . then rng(2) else "–" end) |",
    "| xdplb 1 backend / direct req/s | \($r.http.ratio_vs_direct.keepalive.xdplb_1 // null | if . then rng(2) else "–" end) | \($r.http.ratio_vs_direct.close.xdplb_1 // null | if . then rng(2) else "–" end) |",
    ( ["xdplb_1/direct", "xdplb/nft_dnat", "xdplb/direct"][] as $p
      | "| p99 \($p) | \($r.http.p99_ratio.keepalive[$p] // null | if . then rng(2) else "–" end) | \($r.http.p99_ratio.close[$p] // null | if . then rng(2) else "–" end) |" ),
    "",
    "![HTTP](http.png)",
    "",
    "## 4. Control plane",
    "",
    "Maglev ring (\($r.control_plane.maglev.ring_size // "–") slots) built by `build_maglev_ring` (`xdplb_bench_maglev`, \($r.control_plane.maglev.runs // "–") builds each); *reference* = the build it replaced (modulo per step), timed interleaved in the same run; *moved* = share of ring slots (= of flows without a flow entry) whose backend changes when one of N backends leaves; ideal 1/N.",
    "",
    "| backends | build ms | reference build ms | × reference | moved when one leaves | ideal | moved between staying backends |",
    "|---|---|---|---|---|---|---|",
    ( ($r.control_plane.maglev.pools // [])[] |
      "| \(.backends) | \(.build_ms_median | f(2)) (\(.build_ms_min | f(2))–\(.build_ms_max | f(2))) | \(.reference_build_ms_median | f(2)) | \(.build_x_reference | f(2)) | \(.moved_share | pct) | \(.moved_share_ideal | pct) | \(.moved_share_of_staying_backends | pct) |" ),
    "",
    "`xdplb backend add` → first packet at the new backend (a client opens a new UDP flow to VIP:8000 every 200 µs; a probe in the new backend notes the first arrival; \($r.control_plane.backend_add.runs | length) tries): **\($r.control_plane.backend_add.to_first_packet_ms | rng(1)) ms**; the command itself (process start, state file, ring build, map writes) took \($r.control_plane.backend_add.command_ms | rng(1)) ms. Existing flows keep their backend (flow table), so only new flows move.",
    "",
    "## 5. Memory",
    "",
    ( $r.memory as $m | if $m == null then "not measured" else
      "| table | key + value bytes | kernel memory per entry | for 1 M flows |",
      "|---|---|---|---|",
      "| xdplb flows (forward) | \($m.flows_map.bytes_key // "–") + \($m.flows_map.bytes_value // "–") | \($m.flows_map.per_entry | f(0)) B | |",
      "| xdplb reverse | \($m.reverse_map.bytes_key // "–") + \($m.reverse_map.bytes_value // "–") | \($m.reverse_map.per_entry | f(0)) B | |",
      "| xdplb per flow (every flow table: \(($m.flow_tables.maps // ["flows", "reverse"]) | join(", ")); reverse_new at \($m.flow_tables.syn_table_entries // "–") entries, each SYN entry \(if ($m.flow_tables.syn_table_entries // 0) > 0 then $m.flow_tables.syn_table_bytes / $m.flow_tables.syn_table_entries | f(0) else "–" end) B: attach --syn-table) | | \($m.per_flow_bytes | f(0)) B | \($m.one_million_flows_mib | f(0)) MiB |",
      "| conntrack (nf_conntrack slab object) | | \($m.conntrack_slab.objsize // "–") B | \($m.conntrack_one_million_mib | f(0)) MiB |",
      "",
      "xdplb figures: `bpftool map show` memlock of the pinned maps over max_entries (LRU hash maps are preallocated: the memory is taken at attach for all \($m.flows_map.max_entries // "–") entries, used or not). conntrack: object size from /proc/slabinfo, allocated per connection (plus NAT extension and hash-bucket overhead not counted here)."
      end ),
    "",
    "## Notes",
    "",
    "- The xdplb fast path skips the TTL decrement, netfilter FORWARD and the bridge; the pass path and both baselines do not.",
    "- The uplink and the backends are veths: an XDP program on a veth makes it copy skbs it receives from the stack (HTTP traffic from wrk); a real NIC does not.",
    "- This VM'"'"'s vCPUs are shared and sometimes slowed by the hypervisor; compare figures of the same run only.",
    "- Raw data: raw/ (pktrate.jsonl, http.jsonl, wrk.log, status-*.json, maglev.json, memory.json)."
  ' --arg prog_cost_text "$(cat "$RAW/prog_cost.txt" 2>/dev/null || echo 'not run')" \
    --argjson rounds "$(jq '.meta.rounds' "$OUT/report.json")" "$OUT/report.json"
}

# Goals, judged from report.json, with the reason if short.
goals() {
  jq "$JQ_STATS"'
    def f2: if . == null then "–" else (. * 100 | round) / 100 | tostring end;
    def verdict(ok): if ok == null then "not measured" elif ok then "yes" else "no" end;
    . as $r
    | ($r.packet_rate.ratio_vs_nft_dnat.udp_many.xdplb_redirect.median // null) as $pr_many
    | ($r.packet_rate.ratio_vs_nft_dnat.udp_1.xdplb_redirect.median // null) as $pr_one
    | ($r.packet_rate.ratio_vs_nft_dnat.udp_1.xdplb_redirect_xdpsink.median // null) as $px_one
    | ($r.packet_rate.ratio_vs_nft_dnat.udp_many.xdplb_redirect_xdpsink.median // null) as $px_many
    | ($r.http.ratio_vs_direct.keepalive.xdplb.median // null) as $d_ka
    | ($r.http.ratio_vs_direct.close.xdplb.median // null) as $d_cl
    | ($r.http.ratio_vs_tutorial.keepalive.xdplb.median // null) as $t_ka
    | ($r.http.ratio_vs_tutorial.close.xdplb.median // null) as $t_cl
    | ($r.http.ratio_vs_direct.keepalive.xdplb_1.median // null) as $d1_ka
    | ($r.http.ratio_vs_direct.close.xdplb_1.median // null) as $d1_cl
    | ($r.http.p99_ratio.keepalive["xdplb_1/direct"].median // null) as $p1_ka
    | ($r.http.p99_ratio.close["xdplb_1/direct"].median // null) as $p1_cl
    | ($r.http.p99_ratio.keepalive["xdplb/nft_dnat"].median // null) as $p2_ka
    | ($r.http.p99_ratio.close["xdplb/nft_dnat"].median // null) as $p2_cl
    | ([($r.packet_rate.two_queues // [])[] | select(.scenario == "xdplb_redirect_xdpsink") | .ratio.median] | .[0] // null) as $q2
    | ($r.prog_cost.known_flow_ns // $r.prog_cost.known_flow_redirect_ns // null) as $kf
    | ($r.prog_cost.trace_off_vs_compiled_out // []) as $tp
    | .goals = [
      {goal: "known flow ≤ 8× a trivial XDP_PASS (BPF_PROG_TEST_RUN, same run)", measured: (if $kf then "\($kf | f2) ns/pkt (redirect path) = \($r.prog_cost.known_flow_x_base | f2)× a trivial XDP_PASS, which took \($r.prog_cost.baseline_ns | f2) ns in the same run (5 ns on the quiet VM of the prototype'"'"'s figures: ≈ \(($r.prog_cost.known_flow_x_base // 0) * 5 | f2) ns at that speed)" else "see the program-cost table" end),
       verdict: verdict(if $kf then ($r.prog_cost.known_flow_x_base // 99) <= 8 else null end)},
      {goal: "no trace running: known flow within 2% of the trace compiled out (paired rounds, one process)",
       measured: (if ($tp | length) > 0 then ($tp | map("\(.path): A/C \(.ratio) [95% interval \(.ci95[0])–\(.ci95[1])], \(.a_ns) vs \(.c_ns) ns") | join("; "))
                   + "; control, A against a second load of itself: " + (($r.prog_cost.second_load_control // []) | map("\(.ratio) [\(.ci95[0])–\(.ci95[1])]") | join(", "))
                 else "not measured" end),
       verdict: (if ($tp | length) == 0 then "not measured" elif all($tp[]; .within_2pct == "yes") then "yes"
                 elif any($tp[]; .within_2pct == "no") then "no" else "undecided" end)},
      {goal: "live frames, XDP sinks at the backends: ≥ 6× nft DNAT (one core)", measured: "\($px_many | f2)× (UDP many flows), \($px_one | f2)× (1 flow); with skbs built at the backends: \($pr_many | f2)× / \($pr_one | f2)×. Generator ceiling this run: \(($r.packet_rate.results[] | select(.scenario == "xdp_drop" and .traffic == "udp_1") | .mpps.median | f2) // "–") Mpps",
       verdict: verdict(if $px_many == null then null else $px_many >= 6 end)},
      {goal: "two RX queues ≥ 1.8× one queue (XDP sinks, UDP many flows)", measured: "\($q2 | f2)×",
       verdict: verdict(if $q2 == null then null else $q2 >= 1.8 end)},
      {goal: "HTTP one request per connection ≥ 95% of direct, keep-alive ≥ 98%", measured: "xdplb 1 backend: \($d1_cl | f2) / \($d1_ka | f2); 2 backends: \($d_cl | f2) / \($d_ka | f2) (per-connection / keep-alive)",
       verdict: verdict(if $d1_cl == null then null else ($d1_cl >= 0.95 and ($d1_ka // 0) >= 0.98) end)},
      {goal: "HTTP through xdplb ≥ 2× the nginx proxy", measured: "\($t_ka | f2)× keep-alive, \($t_cl | f2)× per-connection",
       verdict: verdict(if $t_ka == null then null else ($t_ka >= 2 and ($t_cl // 0) >= 2) end)},
      {goal: "p99 ≤ 1.1× like with like (xdplb 1 backend / direct; xdplb 2 backends / nft DNAT over them)",
       measured: "1 backend: \($p1_ka | f2)× keep-alive, \($p1_cl | f2)× per-connection; 2 backends: \($p2_ka | f2)× / \($p2_cl | f2)×",
       verdict: verdict(if $p1_ka == null then null else ([$p1_ka, $p1_cl, $p2_ka, $p2_cl] | map(. // 99) | max) <= 1.1 end)}
    ]' "$OUT/report.json" >"$OUT/report.json.tmp" && mv "$OUT/report.json.tmp" "$OUT/report.json"
}

write_report() {
  jq --argjson c "$WRK_CONNECTIONS" --argjson l "$(cut -d' ' -f1 /proc/loadavg)" \
    --argjson e "$(grep -c '^xdplb: ' "$RAW/xdplb.log" 2>/dev/null || true)" \
    --argjson samples "$(grep '^xdplb: ' "$RAW/xdplb.log" 2>/dev/null | sed -E 's/-[0-9]+\//-PID\//g' | sort -u | head -3 | jq -R . | jq -s .)" \
    '.wrk_connections = $c | .loadavg_end = (.loadavg_end // $l) | .xdplb_errors = ($e // 0) | .xdplb_error_samples = $samples' \
    "$RAW/meta.json" >"$RAW/meta.tmp" &&
    mv "$RAW/meta.tmp" "$RAW/meta.json"
  summarize >"$OUT/report.json"
  goals
  charts
  markdown >"$OUT/report.md"
}
