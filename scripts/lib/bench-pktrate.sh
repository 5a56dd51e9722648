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

PR_SCENARIOS=(xdplb_redirect xdplb_pass nft_dnat routing xdp_drop xdplb_redirect_xdpsink)
PR_TRAFFIC=(udp_1 udp_many tcp_syn_many)

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

xdplb_up() { # xdplb_up [--no-fast-path]; fails (logged in raw/xdplb.log) if xdplb does
  local k
  xdplb attach "$BRIDGE" --uplink "$UPLINK" --port 8000 --backend-port 80 >>"$RAW/xdplb.log" 2>&1 ||
    { log "  xdplb attach failed: $(tail -1 "$RAW/xdplb.log")"; return 1; }
  for k in $(seq 1 "$BT_BACKENDS"); do
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

# pr_measure SCENARIO TRAFFIC ROUND: one generator run; appends a JSON line to pktrate.jsonl.
pr_measure() {
  local scen=$1 traffic=$2 round=$3 dst=$VIP dport=8000 proto=udp flows=1 before after gen
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
  gen=$(in_ns "$CLI_NS" taskset -c "$GEN_CPU" timeout $((${PR_SECONDS%.*} + 30)) "$PKTGEN" \
    --dev eth0 --dst-mac "$UPLINK_MAC" --src "$CLIENT_IP" --dst "$dst" --dport "$dport" \
    --proto "$proto" --flows "$flows" --seconds "$PR_SECONDS")
  sleep 0.05  # let the last batch drain through the queues
  after=$(count)
  jq -c --arg s "$scen" --arg t "$traffic" --argjson r "$round" --argjson d $((after - before)) \
    '{scenario: $s, traffic: $t, round: $r, sent: .sent, delivered: $d, seconds: .seconds,
      sent_mpps: .mpps, mpps: ($d / .seconds / 1e6),
      loss: (if .sent > 0 then ([1 - $d / .sent, 0] | max) else null end)}' <<<"$gen" \
    >>"$RAW/pktrate.jsonl"
  log "  $scen $traffic r$round: $(jq -r 'select(.round == '"$round"' and .scenario == "'"$scen"'" and .traffic == "'"$traffic"'") | "\(.mpps * 1000 | round / 1000) Mpps delivered, loss \(.loss * 1000 | round / 10)%"' "$RAW/pktrate.jsonl" | tail -1)"
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
