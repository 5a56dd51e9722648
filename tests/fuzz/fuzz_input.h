// The fuzzer's input format, shared by the harness and the packet tests that write the seed
// corpus: a sequence of frames, each [hook: 1 byte][length: 2 bytes, big endian][frame], so
// one input can open a flow through XDP and answer it through TC. Bit 1 of the hook byte makes
// a frame an answer: the harness puts the previous frame's rewritten addresses and ports into
// it, swapped (a hairpin reply needs the random SNAT port, which no mutation guesses; a routed
// backend's reply comes back through XDP).
// Bit 2 makes a frame the ICMP error about the previous frame's output that its receiver
// sends back (derived.h); bit 3 cuts a well-formed frame's datagram in two fragments and
// sends the first, and makes the next frame with bit 3 the second (the rest of the datagram).
// A hook byte 0xc0-0xcf makes it a control frame instead (rare among random bytes: rewriting
// rings costs milliseconds): its first two bytes say what the controller changes
// meanwhile (datapath_target.cpp apply_control). Header-only and pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace xdplb::fuzz {

enum class Hook : uint8_t { Xdp = 0, Tc = 1 };

struct FrameIn {
  Hook hook = Hook::Xdp;
  std::vector<uint8_t> bytes;
  bool answer = false;   // answers the previous frame's output (see above)
  bool control = false;  // not a frame: bytes[0] = what to do, bytes[1] = to which backend
  bool icmp = false;     // the ICMP error about the previous frame's output
  bool fragment = false; // the first fragment of this datagram, or the rest of the previous one
};

// Frames per input, and the largest frame (BPF_PROG_TEST_RUN takes about a page for XDP).
inline constexpr size_t kMaxFrames = 4;
inline constexpr size_t kMaxFrame = 1600;
inline constexpr size_t kMinFrame = 14;  // the kernel refuses less than an Ethernet header

// Splits an input into frames; the hook byte's low bit picks the program, a length past the
// end takes what is left, frames shorter than an Ethernet header are skipped.
inline std::vector<FrameIn> split_input(const uint8_t* data, size_t size) {
  std::vector<FrameIn> frames;
  size_t pos = 0;
  while (pos + 3 <= size && frames.size() < kMaxFrames) {
    FrameIn f;
    f.hook = (data[pos] & 1) ? Hook::Tc : Hook::Xdp;
    f.answer = data[pos] & 2;  // (a control frame ignores both)
    f.control = (data[pos] & 0xf0) == 0xc0;
    f.icmp = !f.control && (data[pos] & 4);
    f.fragment = !f.control && (data[pos] & 8);
    size_t len = (static_cast<size_t>(data[pos + 1]) << 8) | data[pos + 2];
    pos += 3;
    if (len > size - pos) len = size - pos;
    if (len > kMaxFrame) len = kMaxFrame;
    f.bytes.assign(data + pos, data + pos + len);
    pos += len;
    if (f.bytes.size() >= (f.control ? 2 : kMinFrame)) frames.push_back(std::move(f));
  }
  return frames;
}

inline std::vector<uint8_t> encode_input(const std::vector<FrameIn>& frames) {
  std::vector<uint8_t> out;
  for (const auto& f : frames) {
    out.push_back(static_cast<uint8_t>(static_cast<uint8_t>(f.hook) | (f.answer ? 2 : 0) | (f.icmp ? 4 : 0) |
                                       (f.fragment ? 8 : 0) | (f.control ? 0xc0 : 0)));
    out.push_back(static_cast<uint8_t>(f.bytes.size() >> 8));
    out.push_back(static_cast<uint8_t>(f.bytes.size() & 0xff));
    out.insert(out.end(), f.bytes.begin(), f.bytes.end());
  }
  return out;
}

}  // namespace xdplb::fuzz
