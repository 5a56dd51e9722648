#!/usr/bin/env bash
# One command, one report: measures xdplb against its baselines on a namespace topology it
# creates and removes itself, and writes results/<timestamp>/report.md, report.json and PNG
# charts.
#   sudo bash scripts/bench.sh [--quick] [--out DIR] [--build DIR] [--rounds N]
#                              [--only prog,pktrate,http,control,memory] [--compare OLD.json]
#                              [--http-setups direct,xdplb_1,xdplb,nft_dnat,tutorial,direct_xdp_attached]
#                              [--add-before OLD_XDPLB]
#   bash scripts/bench.sh --compare OLD.json --against NEW.json   compare two reports, no run
#   bash scripts/bench.sh --table REPORT.json      print the README performance table of a report
# Phases: program cost (xdplb_prog_cost), packet rate (live-frames generator into the uplink:
# xdplb redirect / xdplb XDP_PASS / nft DNAT / plain routing / XDP_DROP ceiling, and two RX
# queues with a generator on each CPU), HTTP (wrk against nginx: direct / xdplb over 1 and 2
# backends / nft DNAT / DNAT + nginx least_conn proxy), control plane (Maglev ring build,
# backend add -> first packet, flows moved) and memory (flow entry vs conntrack).
# Scenarios are interleaved (A B C A B C ...) and reported as median and min-max of the rounds,
# with ratios against a baseline from the same run. Every duration is bounded: a full run took
# about 16 minutes at a load average of 8-10 here, --quick about 6.
# --compare OLD.json: after the run (or against --against NEW.json) print every row's change
# against an earlier report.json, absolute and as ratio against its same-run baseline, and flag
# REGRESSION where the two runs' min-max ranges of the ratio (of the figure, for rows without a
# ratio) do not overlap on the worse side; also written to compare.md next to the report.
# --add-before OLD_XDPLB: the control phase times `backend add` of that binary too (an older
# build of the same ABI), alternating with this build's, try by try.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
OUT=""
BUILD=${BUILD_DIR:-$REPO/build}
ROUNDS=""
ONLY="prog,pktrate,http,control,memory"
COMPARE=""
AGAINST=""
TABLE=""
HTTP_ONLY=""
ADD_BEFORE=""
usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1 ;;
    --out) OUT=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --only) ONLY=$2; shift ;;
    --compare) COMPARE=$2; shift ;;
    --http-setups) HTTP_ONLY=$2; shift ;;
    --against) AGAINST=$2; shift ;;
    --add-before) ADD_BEFORE=$(realpath "$2"); shift ;;
    --table) TABLE=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
ROWS_PY=$REPO/scripts/lib/bench_rows.py
for f in "$COMPARE" "$AGAINST" "$TABLE"; do
  [ -z "$f" ] || [ -r "$f" ] || { echo "bench.sh: cannot read $f" >&2; exit 2; }
done
if [ -n "$TABLE" ]; then exec python3 -B "$ROWS_PY" table "$TABLE"; fi
if [ -n "$AGAINST" ]; then
  [ -n "$COMPARE" ] || { echo "bench.sh: --against NEW.json needs --compare OLD.json" >&2; exit 2; }
  exec python3 -B "$ROWS_PY" compare "$COMPARE" "$AGAINST"
fi
if [ "$(id -u)" -ne 0 ]; then echo "bench.sh: run as root (namespaces, BPF programs)" >&2; exit 1; fi
for tool in jq nft wrk nginx ethtool taskset; do
  command -v "$tool" >/dev/null || { echo "bench.sh: $tool is missing: run scripts/install-deps.sh" >&2; exit 1; }
done
phase_on() { [[ ",$ONLY," == *",$1,"* ]]; }
if [ -n "$ROUNDS" ] && ! [[ $ROUNDS =~ ^[1-9][0-9]?$ ]]; then
  echo "bench.sh: --rounds must be 1..99" >&2; exit 2
fi

if [ "$QUICK" = 1 ]; then
  PR_SECONDS=0.5; HTTP_SECONDS=2; ROUNDS=${ROUNDS:-2}; PR_FLOWS=1000; MAGLEV_RUNS=3; ADD_TRIES=2; ADD_CPU_TRIES=3
  export XDPLB_PROG_COST_PAIRED_ROUNDS=20  # trace off vs compiled out: a smoke run, no verdict
else
  PR_SECONDS=3; HTTP_SECONDS=8; ROUNDS=${ROUNDS:-3}; PR_FLOWS=10000; MAGLEV_RUNS=9; ADD_TRIES=5; ADD_CPU_TRIES=7
fi
# Two vCPUs here: the load generator on one, servers on the other (pinned apart: sharing one CPU halves both).
NCPU=$(nproc)
GEN_CPU=0
SRV_CPU=$((NCPU > 1 ? 1 : 0))

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$REPO/results/$STAMP}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RAW=$OUT/raw
mkdir -p "$RAW"

# ---- binaries: built on demand in $BUILD ----
targets=(xdplb xdplb_bench_pktgen xdplb_bench_maglev xdplb_bench_probe)
phase_on prog && targets+=(xdplb_prog_cost)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$RAW/cmake.log"
fi
for t in "${targets[@]}"; do
  if ! cmake --build "$BUILD" --target "$t" -j"$(nproc)" >>"$RAW/build.log" 2>&1; then
    if [ "$t" = xdplb_prog_cost ]; then
      echo "bench.sh: xdplb_prog_cost does not build; the program-cost table is left out" >&2
    else
      echo "bench.sh: building $t failed; see $RAW/build.log" >&2; exit 1
    fi
  fi
done
XDPLB=$BUILD/controller/cli/xdplb
PKTGEN=$BUILD/bench/xdplb_bench_pktgen
MAGLEV=$BUILD/bench/xdplb_bench_maglev
PROBE=$BUILD/bench/xdplb_bench_probe
PROG_COST=$BUILD/bench/xdplb_prog_cost
BT_SINK_OBJ=$BUILD/bench/bench_sink.bpf.o

source "$REPO/scripts/lib/bench-topology.sh"
source "$REPO/scripts/lib/bench-pktrate.sh"
source "$REPO/scripts/lib/bench-http.sh"
source "$REPO/scripts/lib/bench-control.sh"
source "$REPO/scripts/lib/bench-report.sh"

bt_init "$(mktemp -d /tmp/xbn-bench.XXXXXX)"
BT_CLEANUP_HOOK="rm -rf $BT_TMP"
xdplb() { nsenter --net=/run/netns/"$HOST_NS" "$XDPLB" "$@"; }

cat >"$RAW/meta.json" <<JSON
{"timestamp": "$STAMP", "quick": $QUICK, "rounds": $ROUNDS, "kernel": "$(uname -r)",
 "cpus": $NCPU, "cpu_model": $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //' | jq -R .),
 "git": $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null | jq -R . || echo null),
 "generator_cpu": $GEN_CPU, "server_cpu": $SRV_CPU,
 "packet_rate_seconds": $PR_SECONDS, "http_seconds": $HTTP_SECONDS, "many_flows": $PR_FLOWS,
 "pin_root": "$XDPLB_PIN_ROOT", "tmp_dir": "$BT_TMP",
 "loadavg_start": $(cut -d' ' -f1 /proc/loadavg)}
JSON

log "results in $OUT"
if phase_on prog; then log "program cost"; run_prog_cost; fi
bt_topology 2
if phase_on pktrate; then log "packet rate ($ROUNDS rounds x ${#PR_SCENARIOS[@]} scenarios x ${#PR_TRAFFIC[@]} traffic kinds + ${#PR_2Q_SCENARIOS[@]} on two queues, ${PR_SECONDS}s each)"; run_pktrate; fi
if phase_on http; then log "HTTP ($ROUNDS rounds x ${#HTTP_SETUPS[@]} setups x ${#HTTP_MODES[@]} modes, ${HTTP_SECONDS}s each)"; run_http; fi
if phase_on control; then log "control plane"; run_control; fi
if phase_on memory; then log "memory"; run_memory; fi
log "report"
write_report
log "done: $OUT/report.md"
if [ -n "$COMPARE" ]; then
  python3 -B "$ROWS_PY" compare "$COMPARE" "$OUT/report.json" | tee "$OUT/compare.md"
fi
