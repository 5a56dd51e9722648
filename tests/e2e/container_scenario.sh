# The container scenario both container tests run (LXD and classic LXC): backends by name,
# requests reach every container, remove + stop without failures, a container added later,
# refresh after a restart, a stopped one taken out by refresh, clear errors.
# The caller sets C1 C2 C3 (C3 stopped at the start), ADD_ARGS (e.g. --source lxc --lxcpath P),
# BRIDGE, UPLINK, VIP, and defines ct_start NAME / ct_stop NAME / ct_restart NAME.
# IPv6 (LXD only: classic LXC's helper bridge has no router advertisements): the caller also sets
# VIP6 (an IPv6 address of the uplink the client reaches), BRIDGE6_NET (the bridge's IPv6 prefix)
# and CLIENT6 (the client's IPv6 address), makes every container serve $E2E_TMP/big.bin as
# /big.bin (lib.sh's download_ok), and may define ct_udp6_start NAME / ct_udp6_stop (a UDP
# responder on port 80 in the container); each container is then an IPv4 and an IPv6 entry,
# and the IPv6 checks run. Without VIP6 the scenario is IPv4 only.
FAMILIES=1

# v6_address NAME: the address of NAME's IPv6 entry in `backend list --json` (empty if none).
v6_address() {
  xdplb backend list --json |
    jq -r --arg n "$1" '.[] | select(.name == $n and (.address | contains(":"))) | .address'
}
in_net() { python3 -c 'import ipaddress as i, sys; sys.exit(i.ip_address(sys.argv[1]) not in i.ip_network(sys.argv[2]))' "$1" "$2"; }
# get_pages6 FIRST_PORT COUNT: like get_pages, to http://[VIP6]:8000/ (-g: brackets are no glob).
get_pages6() {
  local first=$1 count=$2 i
  for i in $(seq 0 $((count - 1))); do
    in_ns "$CLI_NS" curl -6 -g -s --max-time 3 --local-port $((first + i)) "http://[$VIP6]:8000/" || echo FAIL
  done
}

# check_v6_entries NAME...: each container has one IPv6 entry, in the ring, on the fast path,
# with an address inside the bridge's IPv6 prefix, shown by `backend list` and `status --json`.
check_v6_entries() {
  local n addr st
  st=$(xdplb status --json)
  for n in "$@"; do
    addr=$(v6_address "$n")
    echo "  $n IPv6 entry: ${addr:-none}"
    check "$n has one IPv6 entry" test "$(grep -c . <<<"$addr")" -eq 1
    check "$n's IPv6 address $addr is in $BRIDGE6_NET" in_net "${addr:-::}" "$BRIDGE6_NET"
    check "status --json: $n's IPv6 entry is in the ring on the fast path" test "$(jq --arg n "$n" \
      '[.backends[] | select(.name == $n and (.address | contains(":")) and .in_ring and .path == "redirect")] | length' <<<"$st")" -eq 1
  done
}

run_container_scenario() {
  [ -n "${VIP6:-}" ] && FAMILIES=2
  log "attach and add containers by name"
  xdplb attach "$BRIDGE" --uplink "$UPLINK"
  xdplb backend add $C1 "${ADD_ARGS[@]}"
  xdplb backend add $C2 "${ADD_ARGS[@]}"
  expect_fail "unknown container" "nosuchct.*(lxd|lxc)" xdplb backend add nosuchct --wait 0
  expect_fail "stopped container" "stopped" xdplb backend add $C3 --wait 0 "${ADD_ARGS[@]}"
  expect_fail "duplicate container" "already" xdplb backend add $C1 "${ADD_ARGS[@]}"
  xdplb backend list
  check "backends found by name take the fast path" \
    test "$(xdplb backend list --json | jq '[.[] | select(.path == "redirect")] | length')" -eq $((2 * FAMILIES))
  if [ -n "${VIP6:-}" ]; then
    check "status --json: $VIP6 is a service address" \
      test "$(xdplb status --json | jq --arg v "$VIP6" '[.service.vips[] | select(. == $v)] | length')" -eq 1
    check_v6_entries $C1 $C2
  fi

  count() { grep -c "^Served from the $1 container!\$" <<<"$pages" || true; }

  log "requests reach every container"
  pages=$(get_pages 40001 20 "http://$VIP:8000/")
  echo "$pages" | sort | uniq -c
  check "20 of 20 requests succeed" test "$(( $(count $C1) + $(count $C2) ))" -eq 20
  check "$C1 serves" test "$(count $C1)" -ge 1
  check "$C2 serves" test "$(count $C2)" -ge 1

  if [ -n "${VIP6:-}" ]; then
    log "IPv6: requests to [$VIP6]:8000 reach every container"
    pages=$(get_pages6 45001 20)
    echo "$pages" | sort | uniq -c
    check "IPv6: 20 of 20 requests succeed" test "$(( $(count $C1) + $(count $C2) ))" -eq 20
    check "IPv6: $C1 serves" test "$(count $C1)" -ge 1
    check "IPv6: $C2 serves" test "$(count $C2)" -ge 1
    check "IPv6: 10 MB download from [$VIP6]:8000 is byte-identical" \
      download_ok "$CLI_NS" "http://[$VIP6]:8000/big.bin"
    if declare -F ct_udp6_start >/dev/null; then
      # The busybox image has no UDP responder (no udpsvd; its nc has no -u): the caller runs one
      # in each container's network namespace, answering "<name> <client address>".
      log "IPv6: UDP datagrams to [$VIP6]:8000 are answered by the containers"
      ct_udp6_start $C1
      ct_udp6_start $C2
      local i udp
      pages=$(for i in $(seq 1 20); do
        echo ping | in_ns "$CLI_NS" timeout 5 socat -T2 - "UDP6:[$VIP6]:8000,sourceport=$((50000 + i))" 2>/dev/null || echo FAIL
      done)
      echo "$pages" | sort | uniq -c
      # socat writes the peer address in full: [fd42:0232:0051:0000:...]
      udp=$(grep -cE "^($C1|$C2) \[?$(python3 -c 'import ipaddress as i, sys; print(i.ip_address(sys.argv[1]).exploded)' "$CLIENT6")\]?\$" <<<"$pages" || true)
      check "IPv6 UDP: 20 of 20 answered, the client's address seen by the container" test "$udp" -eq 20
      check "IPv6 UDP: $C1 answers" grep -q "^$C1 " <<<"$pages"
      check "IPv6 UDP: $C2 answers" grep -q "^$C2 " <<<"$pages"
      ct_udp6_stop
    else
      echo "  (UDP over IPv6 not checked: no ct_udp6_start for these containers)"
    fi
  fi

  log "remove $C1, then stop it: no failures"
  xdplb backend remove $C1
  check "remove $C1 removed all its entries" \
    test "$(xdplb backend list --json | jq --arg n $C1 '[.[] | select(.name == $n)] | length')" -eq 0
  ct_stop $C1
  pages=$(get_pages 41001 10 "http://$VIP:8000/")
  check "10 of 10 requests succeed from $C2" test "$(count $C2)" -eq 10
  if [ -n "${VIP6:-}" ]; then
    pages=$(get_pages6 46001 10)
    check "IPv6: 10 of 10 requests succeed from $C2" test "$(count $C2)" -eq 10
  fi

  log "a container added later serves"
  ct_start $C3
  xdplb backend add $C3 "${ADD_ARGS[@]}"
  pages=$(get_pages 42001 20 "http://$VIP:8000/")
  echo "$pages" | sort | uniq -c
  check "20 of 20 succeed with $C3 added" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
  check "$C3 serves" test "$(count $C3)" -ge 1
  if [ -n "${VIP6:-}" ]; then
    check_v6_entries $C3
    pages=$(get_pages6 47001 20)
    echo "$pages" | sort | uniq -c
    check "IPv6: 20 of 20 succeed with $C3 added" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
    check "IPv6: $C3 serves" test "$(count $C3)" -ge 1
  fi

  log "restart $C3: its veth changes; refresh picks up the new one"
  old_via=$(xdplb backend list --json | jq -r --arg n "$C3" '[.[] | select(.name == $n)][0].via')
  ct_restart $C3
  xdplb backend refresh $C3 --wait 10
  new_via=$(xdplb backend list --json | jq -r --arg n "$C3" '[.[] | select(.name == $n)][0].via')
  echo "  $C3 veth: $old_via -> $new_via"
  check "refresh found the new host-side veth" bash -c "[ -n '$new_via' ] && [ '$new_via' != '$old_via' ]"
  pages=$(get_pages 43001 20 "http://$VIP:8000/")
  check "20 of 20 succeed after the restart" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
  check "$C3 serves again" test "$(count $C3)" -ge 1
  if [ -n "${VIP6:-}" ]; then
    check_v6_entries $C3
    pages=$(get_pages6 48001 20)
    check "IPv6: 20 of 20 succeed after the restart" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
    check "IPv6: $C3 serves again" test "$(count $C3)" -ge 1
  fi

  log "stopped container: refresh takes it out of the rotation"
  ct_stop $C3
  xdplb backend refresh $C3 --wait 0
  pages=$(get_pages 44001 10 "http://$VIP:8000/")
  check "10 of 10 succeed from $C2 with $C3 down" test "$(count $C2)" -eq 10
  check "$C3's entries are all out of the rotation" \
    test "$(xdplb backend list --json | jq --arg n $C3 '[.[] | select(.name == $n and .in_ring)] | length')" -eq 0
  if [ -n "${VIP6:-}" ]; then
    pages=$(get_pages6 49001 10)
    check "IPv6: 10 of 10 succeed from $C2 with $C3 down" test "$(count $C2)" -eq 10
  fi
  xdplb status

  xdplb detach "$BRIDGE"
}
