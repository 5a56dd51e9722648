// Reusing a pinned map for a map of a freshly opened BPF object (the datapath's own maps when a
// later command opens them, the host-local hooks that balance over the same maps).
#pragma once

#include <string>

#include "core/result.h"

struct bpf_map;

namespace xdplb {

// Points `map` at the map pinned at `path`, before the object is loaded. Done by hand rather
// than by libbpf's pin reuse, whose compatibility check compares map flags and so refuses every
// devmap (the kernel adds BPF_F_RDONLY_PROG to them, and refuses that flag at creation).
// Without a pin libbpf would quietly create a fresh, empty map, so a missing pin is an error;
// so is a pin of another type or size (another xdplb build).
Status reuse_pinned_map(struct bpf_map* map, const std::string& path);

}  // namespace xdplb
