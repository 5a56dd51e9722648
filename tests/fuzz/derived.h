// Frames the harness derives from earlier ones, so that inputs reach what random bytes never
// do (fuzz_input.h, the icmp and fragment bits): an ICMP error about a flow the input opened,
// and the fragments of one datagram. Pure: bytes in, bytes out (built with tests/packet's
// frames.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "frame_view.h"

namespace xdplb::fuzz {

// The ICMP error that about's receiver sends back to its sender (from about.dst to
// about.src, MACs swapped), quoting about's IP header and 8 bytes of its L4 header: "frag
// needed" / "packet too big", "host unreachable", "port unreachable" or "time exceeded",
// picked by the first payload byte of frame. nullopt if about is no well-formed TCP/UDP frame.
std::optional<Bytes> icmp_error_about(const Bytes& about, const Bytes& frame);

// A datagram cut in two fragments: the first carries the L4 header (and checksum of the
// whole), the second the rest; IP id / IPv6 fragment id from frame's bytes.
struct Fragments {
  Bytes first, later;
};
// nullopt if whole is no well-formed TCP/UDP frame with at least 16 bytes of IP payload.
std::optional<Fragments> fragments_of(const Bytes& whole, const Bytes& frame);

}  // namespace xdplb::fuzz
