#include "daemon/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "observe/quiet_thread.h"
#include "observe/root_socket.h"

namespace xdplb {

namespace {

constexpr size_t kMaxMessage = 1 << 20;

Result<sockaddr_un> socket_address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return make_error("control socket path too long: " + path);
  std::memcpy(sa.sun_path, path.c_str(), path.size() + 1);
  return sa;
}

// Everything the peer sends until it shuts down its side, within the deadline.
Result<std::string> read_all(int fd, std::chrono::steady_clock::time_point deadline) {
  std::string got;
  char buf[16384];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return make_error("timed out");
    pollfd p{fd, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(n == 0 ? "timed out" : std::strerror(errno));
    const ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) return make_error(std::strerror(errno));
    if (r == 0) return got;
    got.append(buf, static_cast<size_t>(r));
    if (got.size() > kMaxMessage) return make_error("message too long");
  }
}

bool send_all(int fd, const std::string& text) {
  size_t sent = 0;
  while (sent < text.size()) {
    const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

template <typename T>
Result<T> parsed(const std::string& text, const std::function<T(const nlohmann::json&)>& from) {
  try {
    return from(nlohmann::json::parse(text));
  } catch (const std::exception& e) {
    return make_error(std::string("bad control message: ") + e.what());
  }
}

}  // namespace

std::string control_socket(const std::string& state_dir, const std::string& bridge) {
  return state_dir + "/" + bridge + ".ctl.sock";
}

std::string encode(const ControlRequest& r) {
  return nlohmann::json{{"bridge", r.bridge}, {"pin_root", r.pin_root}, {"state_dir", r.state_dir}, {"args", r.args}}.dump();
}

Result<ControlRequest> decode_request(const std::string& text) {
  return parsed<ControlRequest>(text, [](const nlohmann::json& j) {
    return ControlRequest{j.at("bridge").get<std::string>(), j.at("pin_root").get<std::string>(),
                          j.at("state_dir").get<std::string>(), j.at("args").get<std::vector<std::string>>()};
  });
}

std::string encode(const ControlReply& r) {
  if (!r.refused.empty()) return nlohmann::json{{"refused", r.refused}}.dump();
  return nlohmann::json{{"code", r.code}, {"out", r.out}, {"err", r.err}}.dump();
}

Result<ControlReply> decode_reply(const std::string& text) {
  return parsed<ControlReply>(text, [](const nlohmann::json& j) {
    ControlReply r;
    if (j.contains("refused")) {
      r.refused = j.at("refused").get<std::string>();
      return r;
    }
    r.code = j.at("code").get<int>();
    r.out = j.at("out").get<std::string>();
    r.err = j.at("err").get<std::string>();
    return r;
  });
}

Result<std::unique_ptr<ControlServer>> ControlServer::start(const std::string& state_dir, const std::string& bridge,
                                                            Handler handler) {
  const std::string path = control_socket(state_dir, bridge);
  auto fd = observe::listen_root_socket(path, "control socket", 16);
  if (!fd) return make_error(fd.error());
  std::unique_ptr<ControlServer> s(new ControlServer(std::move(*fd), path, std::move(handler)));
  s->thread_ = observe::quiet_thread([raw = s.get()] { raw->serve(); });
  return s;
}

ControlServer::~ControlServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::unlink(path_.c_str());
}

void ControlServer::serve() {
  while (!stop_) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, 200) != 1) continue;
    UniqueFd conn(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    if (!observe::peer_is_root(conn.get())) continue;
    answer(conn.get());
  }
}

void ControlServer::answer(int conn) {
  auto text = read_all(conn, std::chrono::steady_clock::now() + std::chrono::seconds(5));
  if (!text) return;
  auto request = decode_request(*text);
  ControlReply reply;
  if (!request) reply.refused = request.error();
  else reply = handler_(*request);
  (void)send_all(conn, encode(reply));
}

Result<ControlReply> call_control(const std::string& path, const ControlRequest& request, int timeout_ms) {
  auto sa = socket_address(path);
  if (!sa) return make_error(sa.error());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return make_error(std::strerror(errno));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&*sa), sizeof *sa) != 0)
    return make_error("no daemon at " + path + ": " + std::strerror(errno));
  if (!send_all(fd.get(), encode(request)) || ::shutdown(fd.get(), SHUT_WR) != 0)
    return make_error("sending to the daemon at " + path + " failed: " + std::strerror(errno));
  // From here the daemon may have run the command: no error (which would make the CLI run it a
  // second time), a failed command.
  auto text = read_all(fd.get(), std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms));
  auto reply = text ? decode_reply(*text) : Result<ControlReply>(make_error(text.error()));
  if (reply) return reply;
  ControlReply failed;
  failed.err = "xdplb: no answer from the daemon at " + path + " (" + reply.error() +
               "): the change may or may not have been made; see `xdplb backend list`\n";
  return failed;
}

}  // namespace xdplb
