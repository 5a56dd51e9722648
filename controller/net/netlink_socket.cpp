#include "net/netlink_socket.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <ctime>

#include "net/netlink_attr.h"

namespace xdplb::net {

namespace {

// Large enough for the biggest datagram the kernel sends to a dump (it sizes dump skbs up to
// the reader's buffer, 32 KiB at most for rtnetlink); a smaller one would truncate messages.
constexpr size_t kReceiveBuffer = 64 * 1024;

// A reply that never comes (wrong family, kernel bug) must not hang the controller.
constexpr time_t kReplyTimeoutSeconds = 5;

std::string errno_text(int err) { return std::strerror(err); }

struct Reply {
  const NetlinkSocket::OnMessage* on_message;
  int error = 0;            // negative errno from NLMSG_ERROR
  std::string kernel_says;  // extended ack message
};

int on_data(const nlmsghdr* nlh, void* data) {
  auto* reply = static_cast<Reply*>(data);
  if (*reply->on_message) (*reply->on_message)(nlh);
  return MNL_CB_OK;
}

// NLMSG_ERROR: error 0 is the ACK that ends a request; otherwise keep errno and the kernel's
// extended-ack text ("Invalid values in header for neighbor get request", ...).
int on_error(const nlmsghdr* nlh, void* data) {
  auto* reply = static_cast<Reply*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    reply->error = -EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  if (err->error == 0) return MNL_CB_STOP;
  reply->error = err->error;
  if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
    // The original request is echoed unless NLM_F_CAPPED; the TLVs follow it.
    size_t offset = sizeof(nlmsgerr);
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
    for_each_attr(nlh, offset, [&](const nlattr* attr) {
      if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
          mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
        reply->kernel_says = mnl_attr_get_str(attr);
    });
  }
  return MNL_CB_ERROR;
}

int on_done(const nlmsghdr* nlh, void* data) {
  // A dump can end with an error carried in NLMSG_DONE.
  if (nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(int))) {
    int err;
    std::memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof err);
    if (err < 0) {
      static_cast<Reply*>(data)->error = err;
      return MNL_CB_ERROR;
    }
  }
  return MNL_CB_STOP;
}

int on_noop(const nlmsghdr*, void*) { return MNL_CB_OK; }

}  // namespace

void NetlinkSocket::Closer::operator()(mnl_socket* s) const { mnl_socket_close(s); }

NetlinkSocket::NetlinkSocket(NetlinkSocket&&) noexcept = default;
NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&&) noexcept = default;
NetlinkSocket::~NetlinkSocket() = default;

int NetlinkSocket::fd() const { return mnl_socket_get_fd(sock_.get()); }

Result<NetlinkSocket> NetlinkSocket::open(int bus, unsigned groups) {
  NetlinkSocket s;
  s.sock_.reset(mnl_socket_open2(bus, SOCK_CLOEXEC | (groups ? SOCK_NONBLOCK : 0)));
  if (!s.sock_) return make_error("open netlink socket: " + errno_text(errno));
  int one = 1;
  // Best effort: with extended acks the kernel explains EINVAL and friends in words.
  mnl_socket_setsockopt(s.sock_.get(), NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(s.sock_.get(), NETLINK_CAP_ACK, &one, sizeof one);
  if (!groups) {
    timeval timeout{kReplyTimeoutSeconds, 0};
    setsockopt(s.fd(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  if (mnl_socket_bind(s.sock_.get(), groups, MNL_SOCKET_AUTOPID) < 0)
    return make_error("bind netlink socket: " + errno_text(errno));
  s.portid_ = mnl_socket_get_portid(s.sock_.get());
  s.seq_ = static_cast<uint32_t>(std::time(nullptr));
  s.buf_.resize(kReceiveBuffer);
  return s;
}

Status NetlinkSocket::transact(nlmsghdr* request, const OnMessage& on_message) {
  last_errno_ = 0;
  request->nlmsg_seq = ++seq_;
  request->nlmsg_flags |= NLM_F_REQUEST;
  if (!(request->nlmsg_flags & NLM_F_DUMP)) request->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(sock_.get(), request, request->nlmsg_len) < 0) {
    last_errno_ = errno;
    return make_error("send netlink request: " + errno_text(errno));
  }

  Reply reply{&on_message, 0, {}};
  mnl_cb_t control[NLMSG_MIN_TYPE] = {};
  control[NLMSG_NOOP] = on_noop;
  control[NLMSG_ERROR] = on_error;
  control[NLMSG_DONE] = on_done;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      last_errno_ = errno;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return make_error("no netlink reply within " + std::to_string(kReplyTimeoutSeconds) + " s");
      return make_error("receive netlink reply: " + errno_text(errno));
    }
    const int rc =
        mnl_cb_run2(buf_.data(), n, seq_, portid_, on_data, &reply, control, NLMSG_MIN_TYPE);
    if (rc == MNL_CB_STOP) return {};
    if (rc == MNL_CB_ERROR || rc < 0) {
      const int err = reply.error ? -reply.error : errno;
      last_errno_ = err;
      std::string message = errno_text(err);
      if (!reply.kernel_says.empty()) message += " (kernel: " + reply.kernel_says + ")";
      return make_error(message);
    }
  }
}

Status NetlinkSocket::drain(const OnMessage& on_message) {
  Reply reply{&on_message, 0, {}};
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf_.data(), buf_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {};
      if (errno == ENOBUFS)
        return make_error("netlink events were lost (receive queue overflowed): resync state");
      return make_error("receive netlink event: " + errno_text(errno));
    }
    // Multicast messages carry seq 0 and portid 0: pass 0 so libmnl does not filter them.
    mnl_cb_run(buf_.data(), n, 0, 0, on_data, &reply);
  }
}

}  // namespace xdplb::net
