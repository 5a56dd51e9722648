#include "trace_reader.h"

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cstring>

namespace xdplb::test {

TraceReader::TraceReader(const Datapath& dp) {
  ring_ = ring_buffer__new(dp.trace_ring_fd(), &TraceReader::collect, &events_, nullptr);
}

TraceReader::~TraceReader() {
  if (ring_) ring_buffer__free(ring_);
}

int TraceReader::collect(void* ctx, void* data, size_t size) {
  auto* out = static_cast<std::vector<xdplb_trace_event>*>(ctx);
  xdplb_trace_event e;
  EXPECT_EQ(size, sizeof e) << "a record of another size in the trace ring";
  std::memcpy(&e, data, sizeof e);
  out->push_back(e);
  return 0;
}

std::vector<xdplb_trace_event> TraceReader::drain() {
  events_.clear();
  if (ring_) ring_buffer__consume(ring_);
  return events_;
}

}  // namespace xdplb::test
