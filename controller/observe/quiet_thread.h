// A thread that never takes process signals: started with every signal blocked, so SIGTERM
// reaches the daemon's signalfd on its main thread instead of killing the process by default
// action on a helper thread (threads inherit the mask at creation).
#pragma once

#include <signal.h>

#include <thread>
#include <utility>

namespace xdplb::observe {

template <typename Fn>
std::thread quiet_thread(Fn&& fn) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  std::thread t(std::forward<Fn>(fn));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return t;
}

}  // namespace xdplb::observe
