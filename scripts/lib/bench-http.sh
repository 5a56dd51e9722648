# HTTP phase of scripts/bench.sh (sourced): wrk from the client namespace against nginx
# backends (Debian nginx, configs under the run's temp dir), keep-alive and one request per
# connection, for three setups interleaved over the rounds:
#   direct    wrk -> backend 1 port 80 through the host's routing (the ceiling)
#   xdplb     wrk -> VIP:8000, xdplb with both backends on the fast path
#   tutorial  wrk -> VIP:8000, nft DNAT to an nginx `upstream { least_conn; }` proxy in its own
#             namespace that proxies to both backends (the classic tutorial's setup)
#   direct_xdp_attached  as direct, but with xdplb attached: what its XDP program on the uplink
#             veth costs traffic that is not for the service (the veth then copies every skb)
#   xdplb_1   xdplb with backend 1 only: like with like against direct (one nginx, one CPU)
#   nft_dnat  VIP:8000 -> both backends by an nft DNAT rule (numgen, as iptables DNAT
#             --mode nth): like with like against xdplb over the same two nginx
# wrk runs on GEN_CPU, every nginx on SRV_CPU. Each run also records the client's TCP
# retransmits and SYN retransmits and the backends' listen-queue drops (nstat's counters,
# read from /proc/net/{snmp,netstat} of each namespace), and for the xdplb setups the reason
# counters (raw/status-http-*.json), to tell where a tail comes from.

HTTP_SETUPS=(direct xdplb_1 xdplb nft_dnat tutorial direct_xdp_attached)
if [ -n "${HTTP_ONLY:-}" ]; then  # bench.sh --http-setups a,b: a subset, in this order
  read -r -a HTTP_SETUPS <<<"$(for x in "${HTTP_SETUPS[@]}"; do [[ ",$HTTP_ONLY," == *",$x,"* ]] && printf '%s ' "$x"; done)"
fi
HTTP_MODES=(keepalive close)
WRK_CONNECTIONS=50

nginx_conf() { # nginx_conf NAME BODY_OF_SERVER_BLOCK [HTTP_EXTRA]
  local dir=$BT_TMP/nginx-$1
  mkdir -p "$dir/logs" "$dir/www"
  cat >"$dir/nginx.conf" <<NGINX
user root;
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  ${3:-}
  server {
    listen 80 backlog=4096;
    $2
  }
}
NGINX
  echo "$dir"
}

http_servers_start() {
  local k dir upstream
  for k in $(seq 1 "$BT_BACKENDS"); do
    dir=$(nginx_conf "b$k" "root $BT_TMP/nginx-b$k/www;")
    printf 'Served from b%s\n' "$k" >"$dir/www/index.html"
    spawn_in "$SRV_CPU" "$(backend_ns "$k")" nginx -c "$dir/nginx.conf" -p "$dir"
  done
  upstream="upstream backends { least_conn;"
  for k in $(seq 1 "$BT_BACKENDS"); do upstream+=" server $(backend_ip "$k"):80;"; done
  upstream+=" }"
  dir=$(nginx_conf proxy "location / { proxy_pass http://backends; }" "$upstream")
  spawn_in "$SRV_CPU" "$PROXY_NS" nginx -c "$dir/nginx.conf" -p "$dir"
  for k in $(seq 1 "$BT_BACKENDS"); do
    wait_http "http://$(backend_ip "$k")/" || { log "nginx in backend $k does not answer"; return 1; }
  done
}

wait_http() { # bounded: about 5 s
  local deadline=$((SECONDS + 5))
  while [ "$SECONDS" -lt "$deadline" ]; do
    in_ns "$CLI_NS" curl -s -o /dev/null --max-time 0.5 "$1" && return 0
    sleep 0.1
  done
  return 1
}

http_setup() {
  case $1 in
    direct) HTTP_URL=http://$(backend_ip 1)/ ;;
    direct_xdp_attached) HTTP_URL=http://$(backend_ip 1)/; xdplb_up || return 1 ;;
    xdplb) HTTP_URL=http://$VIP:8000/; xdplb_up || return 1 ;;
    xdplb_1) HTTP_URL=http://$VIP:8000/; XDPLB_UP_BACKENDS=1 xdplb_up || return 1 ;;
    nft_dnat) HTTP_URL=http://$VIP:8000/; nft_dnat_rules | in_ns "$HOST_NS" nft -f - || return 1 ;;
    tutorial)
      in_ns "$HOST_NS" nft -f - <<NFT
table ip xbn_tutorial {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr $VIP tcp dport 8000 dnat to $PROXY_IP:80
  }
}
NFT
      HTTP_URL=http://$VIP:8000/ ;;
  esac
  wait_http "$HTTP_URL" || log "  $1: $HTTP_URL does not answer before the run"
}
http_teardown() {
  case $1 in
    xdplb|xdplb_1|direct_xdp_attached)
      xdplb status --json >"$RAW/status-http-$1-r$2.json" 2>>"$RAW/xdplb.log" || true
      xdplb_down ;;
    nft_dnat) in_ns "$HOST_NS" nft delete table ip xbn_bench ;;
    tutorial) in_ns "$HOST_NS" nft delete table ip xbn_tutorial ;;
  esac
}

# wrk's "Latency 1.23ms" style figures -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    printf "%.3f", n }'
}

# TCP counters of a namespace (as nstat names them) as JSON: RetransSegs, TCPSynRetrans, ListenDrops.
tcp_counters() {
  in_ns "$1" cat /proc/net/snmp /proc/net/netstat | awk '
    $1 == "Tcp:" || $1 == "TcpExt:" { if (!($1 in hdr)) { hdr[$1] = $0; next }
      n = split(hdr[$1], h); split($0, v); for (i = 2; i <= n; i++) c[h[i]] = v[i] }
    END { printf "{\"RetransSegs\": %d, \"TCPSynRetrans\": %d, \"ListenDrops\": %d}\n",
          c["RetransSegs"], c["TCPSynRetrans"], c["ListenDrops"] }'
}
# The backends' counters added up.
backends_tcp_counters() {
  local k
  for k in $(seq 1 "$BT_BACKENDS"); do tcp_counters "$(backend_ns "$k")"; done |
    jq -sc '{ListenDrops: (map(.ListenDrops) | add), RetransSegs: (map(.RetransSegs) | add)}'
}

# http_measure SETUP MODE ROUND: one wrk run; appends a JSON line to http.jsonl.
http_measure() {
  local setup=$1 mode=$2 round=$3 out hdr=() rps p50 p99 errors c0 b0
  [ "$mode" = close ] && hdr=(-H "Connection: close")
  c0=$(tcp_counters "$CLI_NS")
  b0=$(backends_tcp_counters)
  out=$(in_ns "$CLI_NS" taskset -c "$GEN_CPU" timeout $((HTTP_SECONDS + 30)) \
    wrk -t1 -c"$WRK_CONNECTIONS" -d"${HTTP_SECONDS}s" --latency "${hdr[@]}" "$HTTP_URL" 2>&1) || true
  echo "== $setup $mode round $round" >>"$RAW/wrk.log"
  echo "$out" >>"$RAW/wrk.log"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
  errors=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 } /Non-2xx/ { n += $NF } END { }' <<<"$out" | head -1)
  jq -nc --arg s "$setup" --arg m "$mode" --argjson r "$round" --argjson rps "${rps:-0}" \
    --argjson p50 "${p50:-0}" --argjson p99 "${p99:-0}" --argjson e "${errors:-0}" \
    --argjson c0 "$c0" --argjson c1 "$(tcp_counters "$CLI_NS")" \
    --argjson b0 "$b0" --argjson b1 "$(backends_tcp_counters)" \
    '{setup: $s, mode: $m, round: $r, rps: $rps, p50_ms: $p50, p99_ms: $p99, socket_errors: $e,
      client_retrans: ($c1.RetransSegs - $c0.RetransSegs), client_syn_retrans: ($c1.TCPSynRetrans - $c0.TCPSynRetrans),
      backend_listen_drops: ($b1.ListenDrops - $b0.ListenDrops), backend_retrans: ($b1.RetransSegs - $b0.RetransSegs)}' \
    >>"$RAW/http.jsonl"
  log "  $setup $mode r$round: ${rps:-0} req/s, p50 ${p50}ms, p99 ${p99}ms; $(tail -1 "$RAW/http.jsonl" | jq -r '"retransmits \(.client_retrans) (SYN \(.client_syn_retrans)), backend listen drops \(.backend_listen_drops)"')"
}

run_http() {
  local round setup mode
  : >"$RAW/http.jsonl"
  http_servers_start || { log "  nginx did not come up: HTTP phase skipped"; return 0; }
  for round in $(seq 1 "$ROUNDS"); do
    for setup in "${HTTP_SETUPS[@]}"; do
      if http_setup "$setup"; then
        for mode in "${HTTP_MODES[@]}"; do http_measure "$setup" "$mode" "$round"; done
      else
        for mode in "${HTTP_MODES[@]}"; do
          jq -nc --arg s "$setup" --arg m "$mode" --argjson r "$round" \
            '{setup: $s, mode: $m, round: $r, error: "setup failed (see raw/xdplb.log)", rps: null, p50_ms: null, p99_ms: null, socket_errors: 0}' \
            >>"$RAW/http.jsonl"
        done
      fi
      http_teardown "$setup" "$round" || true
    done
  done
}
