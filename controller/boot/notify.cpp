#include "boot/notify.h"

#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace xdplb::boot {

Status notify(const std::string& state) {
  // 0: not under systemd (nothing to tell); < 0: the socket is there but refused us.
  const int r = ::sd_notify(0, state.c_str());
  if (r < 0) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    return make_error(std::string("notifying systemd (") + (path ? path : "?") + "): " + std::strerror(-r));
  }
  return {};
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec);
}

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");
  if (!js || !*js) return false;
  // "DEV:INODE" of the journal's stream: ours if stderr is that file.
  struct stat st{};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return st.st_dev == dev && st.st_ino == ino;
}

}  // namespace xdplb::boot
