# The container scenario both container tests run (LXD and classic LXC): backends by name,
# requests reach every container, remove + stop without failures, a container added later,
# refresh after a restart, a stopped one taken out by refresh, clear errors.
# The caller sets C1 C2 C3 (C3 stopped at the start), ADD_ARGS (e.g. --source lxc --lxcpath P),
# BRIDGE, UPLINK, VIP, and defines ct_start NAME / ct_stop NAME / ct_restart NAME.
run_container_scenario() {
  log "attach and add containers by name"
  xdplb attach "$BRIDGE" --uplink "$UPLINK"
  xdplb backend add $C1 "${ADD_ARGS[@]}"
  xdplb backend add $C2 "${ADD_ARGS[@]}"
  expect_fail "unknown container" "nosuchct.*(lxd|lxc)" xdplb backend add nosuchct --wait 0
  expect_fail "stopped container" "stopped" xdplb backend add $C3 --wait 0 "${ADD_ARGS[@]}"
  expect_fail "duplicate container" "already" xdplb backend add $C1 "${ADD_ARGS[@]}"
  xdplb backend list
  check "backends found by name take the fast path" \
    test "$(xdplb backend list --json | jq '[.[] | select(.path == "redirect")] | length')" -eq 2

  count() { grep -c "^Served from the $1 container!\$" <<<"$pages" || true; }

  log "requests reach every container"
  pages=$(get_pages 40001 20 "http://$VIP:8000/")
  echo "$pages" | sort | uniq -c
  check "20 of 20 requests succeed" test "$(( $(count $C1) + $(count $C2) ))" -eq 20
  check "$C1 serves" test "$(count $C1)" -ge 1
  check "$C2 serves" test "$(count $C2)" -ge 1

  log "remove $C1, then stop it: no failures"
  xdplb backend remove $C1
  ct_stop $C1
  pages=$(get_pages 41001 10 "http://$VIP:8000/")
  check "10 of 10 requests succeed from $C2" test "$(count $C2)" -eq 10

  log "a container added later serves"
  ct_start $C3
  xdplb backend add $C3 "${ADD_ARGS[@]}"
  pages=$(get_pages 42001 20 "http://$VIP:8000/")
  echo "$pages" | sort | uniq -c
  check "20 of 20 succeed with $C3 added" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
  check "$C3 serves" test "$(count $C3)" -ge 1

  log "restart $C3: its veth changes; refresh picks up the new one"
  old_via=$(xdplb backend list --json | jq -r --arg n "$C3" '.[] | select(.name == $n) | .via')
  ct_restart $C3
  xdplb backend refresh $C3 --wait 10
  new_via=$(xdplb backend list --json | jq -r --arg n "$C3" '.[] | select(.name == $n) | .via')
  echo "  $C3 veth: $old_via -> $new_via"
  check "refresh found the new host-side veth" bash -c "[ -n '$new_via' ] && [ '$new_via' != '$old_via' ]"
  pages=$(get_pages 43001 20 "http://$VIP:8000/")
  check "20 of 20 succeed after the restart" test "$(( $(count $C2) + $(count $C3) ))" -eq 20
  check "$C3 serves again" test "$(count $C3)" -ge 1

  log "stopped container: refresh takes it out of the rotation"
  ct_stop $C3
  xdplb backend refresh $C3 --wait 0
  pages=$(get_pages 44001 10 "http://$VIP:8000/")
  check "10 of 10 succeed from $C2 with $C3 down" test "$(count $C2)" -eq 10
  xdplb status

  xdplb detach "$BRIDGE"
}
