// Another build of the datapath object (the same source compiled with other flags) loaded over
// a loaded Datapath's maps, so its programs act on exactly the state the controller wrote and
// on the same .rodata tunables. Used by xdplb_prog_cost for the instrumented copy (opcount) and
// for the copy with the trace hook compiled out.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "datapath/datapath.h"

struct bpf_object;

namespace xdplb::bench {

class TwinObject {
 public:
  // load(name) says which programs to load (the verifier's time, or its budget); what names the
  // object in error messages.
  static Result<std::unique_ptr<TwinObject>> load(Datapath& dp, const std::string& object_path,
                                                  const std::function<bool(const std::string&)>& load_program,
                                                  const std::string& what);
  ~TwinObject();
  TwinObject(const TwinObject&) = delete;
  TwinObject& operator=(const TwinObject&) = delete;

  struct bpf_object* obj() const { return obj_; }
  // The fd of this object's program named like the Datapath's program whose fd is real_fd;
  // -1 if there is none or it was not loaded.
  int twin_fd(int real_fd) const;
  // Its own tail-call table, entry for entry as the Datapath's (targets not loaded are left out:
  // the tail call falls through).
  Status fill_tc_jumps();

 private:
  TwinObject(Datapath& dp) : dp_(dp) {}
  Datapath& dp_;
  struct bpf_object* obj_ = nullptr;
};

}  // namespace xdplb::bench
