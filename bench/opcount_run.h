// The instrumented copy of the datapath object (bench/opcount.h: every helper call and atomic
// counts itself) loaded over a loaded Datapath's maps, so its programs act on exactly the
// state the controller wrote; its own tail-call table points at its own programs.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "datapath/datapath.h"
#include "opcount_kern_user.h"
#include "twin_object.h"

namespace xdplb::bench {

using OpCounts = std::array<double, XDPLB_OPC_MAX>;

class OpCounter {
 public:
  static Result<std::unique_ptr<OpCounter>> load(Datapath& dp, const std::string& object_path);
  OpCounter(const OpCounter&) = delete;
  OpCounter& operator=(const OpCounter&) = delete;

  int xdp_prog_fd() const { return xdp_fd_; }
  int tc_prog_fd() const { return tc_fd_; }
  Status reset();
  Result<OpCounts> read();

 private:
  OpCounter() = default;
  std::unique_ptr<TwinObject> twin_;
  int xdp_fd_ = -1, tc_fd_ = -1, counts_fd_ = -1;
};

// Column names for the table, in enum order.
const char* op_kind_name(int kind);

}  // namespace xdplb::bench
