#include "boot/notify.h"

#include <dlfcn.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <spdlog/sinks/base_sink.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace xdplb::boot {

namespace {

// libsystemd's three entry points, loaded at the first use instead of at every exec: libsystemd
// and what it pulls in (libgcrypt, libgpg-error, liblzma, libzstd, liblz4, libcap) cost every
// command ~0.9 ms of process start here, and only `xdplb boot` under systemd uses it.
struct SystemdApi {
  decltype(&::sd_notify) notify = nullptr;
  decltype(&::sd_watchdog_enabled) watchdog_enabled = nullptr;
  decltype(&::sd_journal_send) journal_send = nullptr;
  std::string error;  // why libsystemd is not usable ("" when it is)
};

const SystemdApi& systemd_api() {
  static const SystemdApi api = [] {
    SystemdApi a;
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);  // kept open for the process
    if (!lib) {
      const char* why = ::dlerror();
      a.error = std::string("libsystemd cannot be loaded (") + (why ? why : "?") + "): install libsystemd0";
      return a;
    }
    a.notify = reinterpret_cast<decltype(a.notify)>(::dlsym(lib, "sd_notify"));
    a.watchdog_enabled = reinterpret_cast<decltype(a.watchdog_enabled)>(::dlsym(lib, "sd_watchdog_enabled"));
    a.journal_send = reinterpret_cast<decltype(a.journal_send)>(::dlsym(lib, "sd_journal_send"));
    if (!a.notify || !a.watchdog_enabled || !a.journal_send) a.error = "libsystemd lacks sd_notify, sd_watchdog_enabled or sd_journal_send";
    return a;
  }();
  return api;
}

// Each line to journald with its priority (what spdlog's systemd sink does, through the
// loaded libsystemd).
class JournalSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto& api = systemd_api();
    if (!api.journal_send) return;
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    size_t n = line.size();
    while (n > 0 && (line.data()[n - 1] == '\n' || line.data()[n - 1] == '\r')) --n;
    const int priority = msg.level == spdlog::level::critical ? LOG_CRIT
                         : msg.level == spdlog::level::err    ? LOG_ERR
                         : msg.level == spdlog::level::warn   ? LOG_WARNING
                         : msg.level == spdlog::level::info   ? LOG_INFO
                                                              : LOG_DEBUG;
    api.journal_send("MESSAGE=%.*s", static_cast<int>(n), line.data(), "PRIORITY=%d", priority,
                     "SYSLOG_IDENTIFIER=xdplb", nullptr);
  }
  void flush_() override {}
};

}  // namespace

std::shared_ptr<spdlog::sinks::sink> journal_sink() { return std::make_shared<JournalSink>(); }

Status notify(const std::string& state) {
  if (!std::getenv("NOTIFY_SOCKET")) return {};  // not under systemd: nothing to tell
  const auto& api = systemd_api();
  if (!api.notify) return make_error("notifying systemd: " + api.error);
  // 0: not under systemd (nothing to tell); < 0: the socket is there but refused us.
  const int r = api.notify(0, state.c_str());
  if (r < 0) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    return make_error(std::string("notifying systemd (") + (path ? path : "?") + "): " + std::strerror(-r));
  }
  return {};
}

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (!std::getenv("WATCHDOG_USEC")) return std::nullopt;  // what sd_watchdog_enabled reads first
  const auto& api = systemd_api();
  if (!api.watchdog_enabled || api.watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
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
