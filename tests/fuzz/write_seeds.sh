#!/usr/bin/env bash
# write_seeds.sh DIR TEST...: runs the packet test binaries with XDPLB_FUZZ_SEEDS=DIR, so every
# frame they send through the programs lands in DIR as a fuzzer input (tests/fuzz/fuzz_input.h).
# A failing test still leaves its frames; the seeds are what was sent, not what passed.
set -u
dir=$1
shift
rm -rf "$dir" && mkdir -p "$dir"
for t in "$@"; do
  XDPLB_FUZZ_SEEDS=$dir "$t" >/dev/null 2>&1 || echo "write_seeds: $(basename "$t") failed (its frames are kept)"
done
n=$(find "$dir" -type f | wc -l)
echo "write_seeds: $n seeds in $dir"
[ "$n" -gt 0 ]
