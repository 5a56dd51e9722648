# Packet-rate phase of scripts/bench.sh (sourced). The generator (xdplb_bench_pktgen, live
# frames + XDP_TX) sends 64-byte frames out of the client's eth0 into the host's uplink; the
# backends count what reaches them (rx_packets of their eth0) and drop it at tc ingress.
#
# Scenarios (all on the same uplink veth, one at a time, interleaved over the rounds):
#   xdplb_redirect  xdplb attached, backends on the fast path (DNAT + devmap redirect)
#   xdplb_pass      xdplb attached, backends added with --no-fast-path (DNAT + XDP_PASS)
#   nft_dnat        no XDP; an nft DNAT rule (conntrack + nf_nat, as iptables DNAT)
#   routing         no XDP, no NAT: packets addressed to a backend, plain kernel forwarding
#   xdp_drop        an XDP_DROP program on the uplink: the generator's ceiling on this veth
#   xdplb_redirect_xdpsink  as xdplb_redirect, but the backends drop with XDP instead of tc, so
#                   no skb is ever built: the load balancer's own ceiling (a real backend needs
#                   the skb; the other scenarios pay for it)
# Traffic kinds: udp_1 (one flow), udp_many and tcp_syn_many (PR_FLOWS source ports).
# Two RX queues: the PR_2Q_SCENARIOS also run udp_many with a generator on each CPU (the uplink
# has two RX queues; a frame sent on CPU c lands in queue c), right after the one-generator
# run of the same round: the row is that rate as x the one-queue rate, with each queue's XDP
# packets and each CPU's NET_RX softirqs recorded to show both CPUs did the work.

PR_SCENARIOS=(xdplb_redirect xdplb_pass nft_dnat routing xdp_drop xdplb_redirect_xdpsink)
PR_TRAFFIC=(udp_1 udp_many tcp_syn_many)
PR_2Q_SCENARIOS=(xdplb_redirect xdplb_redirect_xdpsink)

ethtool_stat() { in_ns "$1" ethtool -S "$2" | awk -v k="$3:" '$1 == k { print $2; exit }'; }
backends_received() { bt_sink_count; }

nft_dnat_rules() {
  cat <<NFT
table ip xbn_bench {
  chain to_b1 {
    meta l4proto { tcp, udp } dnat to $(backend_ip 1):80
  }
  chain to_b2 {
    meta l4proto { tcp, udp } dnat to $(backend_ip 2):80
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP meta l4proto { tcp, udp } th dport 8000 numgen inc mod 2 vmap { 0 : jump to_b1, 1 : jump to_b2 }
  }
}
NFT
}

# xdplb_up [--no-fast-path]: attach with backends 1..XDPLB_UP_BACKENDS (default all); fails
# (logged in raw/xdplb.log) if xdplb does.
xdplb_up() {
  local k
  xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 8000 --backend-port 80 >>"$RAW/xdplb.log" 2>&1 ||
    { log "  xdplb attach failed: $(tail -1 "$RAW/xdplb.log")"; return 1; }
  for k in $(seq 1 "${XDPLB_UP_BACKENDS:-$BT_BACKENDS}"); do
    xdplb backend add "$(backend_ip "$k")" "$@" >>"$RAW/xdplb.log" 2>&1 ||
      { log "  xdplb backend add failed: $(tail -1 "$RAW/xdplb.log")"; return 1; }
  done
}
# Detach; if that fails (logged, and counted in the report), still start the next scenario
# from nothing: the state dir and pin root are this run's own.
xdplb_down() {
  xdplb detach "$BRIDGE" --forget >>"$RAW/xdplb.log" 2>&1 && return 0
  rm -f "$XDPLB_STATE_DIR/$BRIDGE.json"
  rm -rf "${XDPLB_PIN_ROOT:?}/$BRIDGE"
}

pr_setup() {
  local k
  case $1 in
    xdplb_redirect) xdplb_up ;;
    xdplb_redirect_xdpsink)
      xdplb_up || return 1
      for k in $(seq 1 "$BT_BACKENDS"); do
        in_ns "$(backend_ns "$k")" ip link set dev eth0 xdpdrv obj "$BT_SINK_OBJ" sec xdp || return 1
      done ;;
    xdplb_pass) xdplb_up --no-fast-path ;;
    nft_dnat) nft_dnat_rules | in_ns "$HOST_NS" nft -f - ;;
    routing) ;;
    xdp_drop) in_ns "$HOST_NS" ip link set dev "$UPLINK" xdpdrv obj "$BT_SINK_OBJ" sec xdp ;;
  esac
}
pr_teardown() {
  local k
  case $1 in
    xdplb_*)
      if [ "$1" = xdplb_redirect_xdpsink ]; then
        for k in $(seq 1 "$BT_BACKENDS"); do in_ns "$(backend_ns "$k")" ip link set dev eth0 xdpdrv off; done
      fi
      xdplb status --json >"$RAW/status-$1-r$2.json" 2>>"$RAW/xdplb.log" || true
      xdplb_down ;;
    nft_dnat)
      in_ns "$HOST_NS" conntrack -C >"$RAW/conntrack-count-r$2.txt" 2>/dev/null || true
      in_ns "$HOST_NS" nft delete table ip xbn_bench ;;
    xdp_drop) in_ns "$HOST_NS" ip link set dev "$UPLINK" xdpdrv off ;;
  esac
}

# XDP packets of each uplink RX queue, as a JSON array.
uplink_queue_xdp() {
  in_ns "$HOST_NS" ethtool -S "$UPLINK" |
    awk '$1 ~ /^rx_queue_[0-9]+_xdp_packets:$/ { printf "%s%s", (n++ ? "," : "["), $2 } END { print "]" }'
}
# NET_RX softirqs of each CPU so far, as a JSON array.
net_rx_softirqs() { awk '$1 == "NET_RX:" { $1 = ""; gsub(/^ +/, ""); gsub(/ +/, ","); print "[" $0 "]" }' /proc/softirqs; }

# pr_measure SCENARIO TRAFFIC ROUND [GENERATORS]: one run of the generator (on CPU GEN_CPU, or
# with GENERATORS=2 one on each of CPUs 0 and 1); appends a JSON line to pktrate.jsonl.
pr_measure() {
  local scen=$1 traffic=$2 round=$3 gens=${4:-1} dst=$VIP dport=8000 proto=udp flows=1 before after gen
  local q_before s_before cpus=("$GEN_CPU") cpu pids=() outs=() i
  [ "$gens" = 2 ] && cpus=(0 1)
  [ "$scen" = routing ] && { dst=$(backend_ip 1); dport=80; }
  case $traffic in
    udp_many) flows=$PR_FLOWS ;;
    tcp_syn_many) flows=$PR_FLOWS; proto=tcp ;;
  esac
  count() {
    if [ "$scen" = xdp_drop ]; then ethtool_stat "$HOST_NS" "$UPLINK" rx_queue_0_xdp_drops
    else backends_received; fi
  }
  before=$(count)
  q_before=$(uplink_queue_xdp)
  s_before=$(net_rx_softirqs)
  # Each generator in a session of its own (setsid): with sched_autogroup on (Debian's default)
  # the scheduler shares CPU time between sessions first, so two generators of one session
  # would split one session's share on a busy machine and could never show a second CPU.
  for i in "${!cpus[@]}"; do
    outs+=("$BT_TMP/pktgen.$i.json")
    in_ns "$CLI_NS" setsid -w taskset -c "${cpus[$i]}" timeout $((${PR_SECONDS%.*} + 30)) "$PKTGEN" \
      --dev eth0 --dst-mac "$UPLINK_MAC" --src "$CLIENT_IP" --dst "$dst" --dport "$dport" \
      --proto "$proto" --flows "$flows" --seconds "$PR_SECONDS" >"${outs[$i]}" &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[$i]}" || true; done
  sleep 0.05  # let the last batch drain through the queues
  after=$(count)
  # Several generators: packets sent add up, the run lasts as long as the longest one.
  gen=$(jq -s '{sent: (map(.sent) | add), seconds: (map(.seconds) | max)} | .mpps = (.sent / .seconds / 1e6)' "${outs[@]}")
  jq -c --arg s "$scen" --arg t "$traffic" --argjson r "$round" --argjson d $((after - before)) \
    --argjson g "$gens" --argjson q0 "$q_before" --argjson q1 "$(uplink_queue_xdp)" \
    --argjson s0 "$s_before" --argjson s1 "$(net_rx_softirqs)" \
    '{scenario: $s, traffic: $t, round: $r, generators: $g, sent: .sent, delivered: $d, seconds: .seconds,
      sent_mpps: .mpps, mpps: ($d / .seconds / 1e6),
      loss: (if .sent > 0 then ([1 - $d / .sent, 0] | max) else null end),
      queue_xdp_packets: [range($q1 | length) | $q1[.] - ($q0[.] // 0)],
      cpu_net_rx_softirqs: [range($s1 | length) | $s1[.] - ($s0[.] // 0)]}' <<<"$gen" \
    >>"$RAW/pktrate.jsonl"
  log "  $scen $traffic r$round${4:+ ($gens generators)}: $(tail -1 "$RAW/pktrate.jsonl" | jq -r '"\(.mpps * 1000 | round / 1000) Mpps delivered, loss \(.loss * 1000 | round / 10)%, XDP packets per RX queue \(.queue_xdp_packets)"')"
}

run_pktrate() {
  local round scen traffic
  UPLINK_MAC=$(link_mac "$HOST_NS" "$UPLINK")
  : >"$RAW/pktrate.jsonl"
  bt_sinks_on
  for round in $(seq 1 "$ROUNDS"); do
    for scen in "${PR_SCENARIOS[@]}"; do
      if pr_setup "$scen"; then
        for traffic in "${PR_TRAFFIC[@]}"; do pr_measure "$scen" "$traffic" "$round"; done
        if [[ " ${PR_2Q_SCENARIOS[*]} " == *" $scen "* ]] && [ "$NCPU" -ge 2 ]; then
          pr_measure "$scen" udp_many "$round" 2
        fi
      else
        for traffic in "${PR_TRAFFIC[@]}"; do
          jq -nc --arg s "$scen" --arg t "$traffic" --argjson r "$round" \
            '{scenario: $s, traffic: $t, round: $r, error: "setup failed (see raw/xdplb.log)", mpps: null, loss: null}' \
            >>"$RAW/pktrate.jsonl"
        done
      fi
      pr_teardown "$scen" "$round" || true
    done
  done
  bt_sinks_off
}
