#!/usr/bin/env bash
# The test command: installs every dependency (Debian packages), builds xdplb, installs it on
# the PATH and runs every test through ctest. Run as root from the repository.
#   bash scripts/test.sh [extra ctest args, e.g. -L unit]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then echo "scripts/test.sh: run as root (tests load BPF programs and create namespaces)" >&2; exit 1; fi
bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD" -j"$(nproc)"
cmake --install "$BUILD"
cd "$BUILD"
ctest --output-on-failure --timeout 900 "$@"
