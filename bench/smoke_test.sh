#!/usr/bin/env bash
# ctest "bench": runs `scripts/bench.sh --quick` and checks that it wrote a report with numbers
# in every section. It never judges the figures (timing goals belong in the report, not in a
# test that a slow CI machine would fail).
#   bash bench/smoke_test.sh REPO BUILD_DIR
set -uo pipefail
REPO=$1
BUILD=$2
OUT=$(mktemp -d /tmp/xbn-smoke.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
passed=0 failed=0
check() { # check "description" cmd...
  local what=$1; shift
  if "$@"; then echo "  ok   $what"; passed=$((passed + 1)); else echo "  FAIL $what"; failed=$((failed + 1)); fi
}
jq_true() { jq -e "$1" "$OUT/report.json" >/dev/null 2>&1; }

timeout 480 bash "$REPO/scripts/bench.sh" --quick --build "$BUILD" --out "$OUT" \
  --compare "$REPO/bench/fixtures/report-1930.json"
rc=$?
check "bench.sh --quick exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "report.md written" test -s "$OUT/report.md"
check "report.json is valid JSON" jq_true '.meta.timestamp != null'
check "packet rate: 6 scenarios x 3 traffic kinds with a delivered rate > 0" \
  jq_true '[.packet_rate.results[] | select(.mpps.median > 0)] | length == 18'
check "packet rate: ratios against nft DNAT" jq_true '.packet_rate.ratio_vs_nft_dnat.udp_1.xdplb_redirect.median > 0'
check "packet rate: two RX queues, both queues did XDP work in every round" \
  jq_true '[.packet_rate.two_queues[] | select(.ratio.median > 0 and ([.runs[].queue_xdp_packets | min] | min) > 0)] | length == 2'
check "HTTP: 6 setups x 2 modes with req/s > 0 and latencies" \
  jq_true '[.http.results[] | select(.rps.median > 0 and .p99_ms.median > 0)] | length == 12'
check "HTTP: p99 like with like (1 backend vs direct, 2 vs nft DNAT)" \
  jq_true '.http.p99_ratio.keepalive["xdplb_1/direct"].median > 0 and .http.p99_ratio.close["xdplb/nft_dnat"].median > 0'
check "HTTP: retransmit counters recorded" jq_true '(.http.runs | length) as $n | [.http.runs[] | select(.client_syn_retrans != null)] | length == $n and $n > 0'
check "--compare wrote the change against the fixture, row by row" \
  grep -qE '^\| known flow, DNAT \+ MACs \+ redirect \(BPF_PROG_TEST_RUN\) \| ns/pkt \| [0-9]' "$OUT/compare.md"
check "program cost table parsed" jq_true '.prog_cost.known_flow_ns > 0'
check "Maglev: build times for 3 pool sizes" jq_true '[.control_plane.maglev.pools[] | select(.build_ms_median > 0)] | length == 3'
check "Maglev: against the reference build in the same run" jq_true '[.control_plane.maglev.pools[] | select(.build_x_reference > 0)] | length == 3'
check "program cost: kernel work per packet counted (the redirect path counts its redirect)" \
  bash -c "sed -n '/^kernel work per packet (/,\$p' '$OUT/raw/prog_cost.txt' | grep -qE '^known flow, DNAT \+ MACs \+ redirect +([0-9.]+ +){5}1\.00 '"
check "backend add -> first packet measured" jq_true '.control_plane.backend_add.to_first_packet_ms.median > 0'
check "memory: bytes per flow and conntrack object size" \
  jq_true '.memory.per_flow_bytes > 0 and .memory.conntrack_slab.objsize > 0'
check "goals listed" jq_true '.goals | length == 7'
check "program cost: trace off vs compiled out in paired rounds" jq_true '(.prog_cost.trace_off_vs_compiled_out | length) == 2 and (.goals | any(.goal | startswith("no trace running")))'
check "report.md has the packet-rate table with numbers" grep -qE '^\| xdplb_redirect \| [0-9]' "$OUT/report.md"
check "xdplb top printed one snapshot with a TOTAL row" grep -q '^TOTAL' "$OUT/raw/top.txt"
check "charts written" test -s "$OUT/packet_rate.png" -a -s "$OUT/http.png"
PREFIX=${BT_PREFIX:-xbn}
check "nothing left behind: no $PREFIX namespaces" bash -c "! ip netns list | grep -q '^$PREFIX-'"
PIN_ROOT=$(jq -r '.meta.pin_root // empty' "$OUT/report.json")
check "nothing left behind: the run's pin root ($PIN_ROOT) is gone" bash -c "[ -n '$PIN_ROOT' ] && [ ! -e '$PIN_ROOT' ]"
no_process_of() { [ -n "$1" ] && ! pgrep -f "$1" >/dev/null; }
check "nothing left behind: no process of the run's temp dir (nginx)" no_process_of "$(jq -r '.meta.tmp_dir // empty' "$OUT/report.json")"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
