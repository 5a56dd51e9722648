#include "bgp/bird.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/atomic_file.h"
#include "core/fd.h"

namespace xdplb::bgp {

namespace {

using Clock = std::chrono::steady_clock;

// Reads until a reply's last line ("DDDD text"); `out` gets the lines' text.
Status read_reply(int fd, Clock::time_point deadline, std::string& buf, int& code, std::string& out) {
  for (;;) {
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      std::string line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      const bool coded = line.size() >= 5 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                         (line[4] == ' ' || line[4] == '-');
      out += (coded ? line.substr(5) : line.substr(std::min<size_t>(1, line.size()))) + "\n";
      if (coded && line[4] == ' ') {
        code = std::stoi(line.substr(0, 4));
        return {};
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return make_error("no answer in time");
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error("closed the connection");
    buf.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

Result<std::string> bird_command(const std::string& socket_path, const std::string& command,
                                 std::chrono::milliseconds timeout) {
  const std::string who = "BIRD at " + socket_path;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) return make_error(who + ": socket path too long");
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(who + ": socket: " + std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return make_error(who + ": cannot connect (" + std::strerror(errno) + "): is bird running with -s " + socket_path + "?");
  const auto deadline = Clock::now() + timeout;
  std::string buf, text;
  int code = 0;
  if (auto s = read_reply(fd.get(), deadline, buf, code, text); !s) return make_error(who + ": greeting: " + s.error());
  const std::string line = command + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return make_error(who + ": write: " + std::strerror(errno));
  text.clear();
  if (auto s = read_reply(fd.get(), deadline, buf, code, text); !s) return make_error(who + ": " + command + ": " + s.error());
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (code >= 8000) return make_error(who + ": " + command + " failed: " + text);
  return text;
}

Status bird_apply(const std::string& socket_path, const std::vector<IncludeFile>& files) {
  std::string written;
  for (const auto& f : files) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(f.path).parent_path(), ec);
    if (ec) return make_error("cannot make the directory of " + f.path + ": " + ec.message());
    XDPLB_TRY(write_file_atomic(f.path, f.text, 0644));
    written += (written.empty() ? "" : ", ") + f.path;
  }
  auto r = bird_command(socket_path, "configure");
  if (!r) return make_error(r.error() + " (" + written + " written; BIRD has not read them)");
  return {};
}

}  // namespace xdplb::bgp
