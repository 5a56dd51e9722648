#include "daemon/worker.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>

#include <spdlog/spdlog.h>

namespace xdplb {

Result<std::unique_ptr<Worker>> Worker::create(std::shared_ptr<Heartbeat> beat) {
  UniqueFd ev(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!ev.valid()) return make_error(std::string("eventfd: ") + std::strerror(errno));
  return std::unique_ptr<Worker>(new Worker(std::move(ev), std::move(beat)));
}

Worker::Worker(UniqueFd event, std::shared_ptr<Heartbeat> beat)
    : event_(std::move(event)), beat_(std::move(beat)), thread_([this] { run(); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Worker::post(Job job) {
  {
    std::lock_guard<std::mutex> g(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

std::vector<Worker::Completion> Worker::take() {
  uint64_t n;
  (void)!::read(event_.get(), &n, sizeof n);
  std::lock_guard<std::mutex> g(mu_);
  return std::exchange(done_, {});
}

void Worker::run() {
  // Signals are the loop's (its signalfd): delivered here, SIGTERM would end the process
  // without the loop's orderly stop.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> g(mu_);
      if (beat_) beat_->idle(jobs_.empty());
      cv_.wait(g, [this] { return stop_ || !jobs_.empty(); });
      if (beat_) beat_->idle(false);  // a job from now on: stuck in it, it stops stamping
      if (stop_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Completion done;
    try {
      done = job();
    } catch (const std::exception& e) {
      spdlog::error("daemon worker: {}", e.what());
    }
    if (!done) continue;
    {
      std::lock_guard<std::mutex> g(mu_);
      done_.push_back(std::move(done));
    }
    const uint64_t one = 1;
    (void)!::write(event_.get(), &one, sizeof one);
  }
}

}  // namespace xdplb
