// The trace ring (bpf/lib/trace.h) from a test's side: the records the programs wrote since
// the last drain(), in order. Owns its libbpf ring_buffer.
#pragma once

#include <xdplb/abi.h>

#include <vector>

#include "datapath/datapath.h"

struct ring_buffer;

namespace xdplb::test {

class TraceReader {
 public:
  explicit TraceReader(const Datapath& dp);
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  bool ok() const { return ring_ != nullptr; }
  std::vector<xdplb_trace_event> drain();

 private:
  static int collect(void* ctx, void* data, size_t size);
  struct ring_buffer* ring_ = nullptr;
  std::vector<xdplb_trace_event> events_;
};

}  // namespace xdplb::test
