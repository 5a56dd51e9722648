// One thread for the daemon's slow work (container lookups in LXD / liblxc, neighbour
// resolution, GRO inside a container), so the loop never waits on it: a job runs on the worker
// and returns a completion, which the loop runs when fd() turns readable (take()).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/fd.h"
#include "core/result.h"
#include "daemon/heartbeat.h"

namespace xdplb {

class Worker {
 public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion()>;  // runs on the worker: must own what it uses

  // `beat`, if given, is stamped when a job starts and when the worker waits for the next.
  static Result<std::unique_ptr<Worker>> create(std::shared_ptr<Heartbeat> beat = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int fd() const { return event_.get(); }  // readable while completions wait
  void post(Job job);
  // The completions ready so far, in the order their jobs finished; clears fd().
  std::vector<Completion> take();

 private:
  Worker(UniqueFd event, std::shared_ptr<Heartbeat> beat);
  void run();

  UniqueFd event_;
  std::shared_ptr<Heartbeat> beat_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  std::vector<Completion> done_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace xdplb
