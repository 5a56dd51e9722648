#include "bgp/announcer.h"

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "bgp/bird.h"
#include "bgp/store.h"
#include "bgp/withdraw.h"
#include "datapath/datapath.h"

namespace xdplb::bgp {

namespace {

std::string stamp(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return "";
  return std::to_string(st.st_ino) + ":" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec) + ":" + std::to_string(st.st_size);
}

std::string list(const Announcement& routes) {
  std::string out;
  for (const auto& r : routes.vips) out += (out.empty() ? "" : ", ") + r.vip.to_string() + " (" + r.service + ")";
  for (const auto& p : routes.returns) out += (out.empty() ? "" : ", ") + p.to_string() + " (return route)";
  return out.empty() ? "nothing" : out;
}

}  // namespace

void Announcer::update(const BridgeState& state, Clock::time_point now) {
  const std::string s = stamp(bgp_file(state_dir_));
  if (s != config_stamp_) {
    config_stamp_ = s;  // a file that does not load is reported once, read again when it changes
    auto loaded = load_bgp(state_dir_);
    if (!loaded) {
      spdlog::error("bgp: {}; announcing as before", loaded.error());
    } else {
      if (!*loaded && config_) withdraw_all();  // BGP taken out of the config
      if (*loaded != config_) told_.reset();    // another include: tell BIRD again
      config_ = std::move(*loaded);
      if (config_) spdlog::info("bgp: AS {} with {} neighbours, BIRD at {}", config_->asn, config_->neighbors.size(),
                                config_->bird_socket);
    }
  }
  if (!config_) return;
  const bool attached = Datapath::is_attached(pin_dir_) && !withdrawing(state_dir_, bridge_);
  tell(announcement(state, *config_, attached), now);
}

void Announcer::tell(const Announcement& routes, Clock::time_point now) {
  if (told_ && *told_ == routes) return;
  if (now < retry_at_) return;
  // The bridge's routes first: the node's include reads every bridge's file.
  const std::vector<IncludeFile> files = {
      {bridge_include_path(*config_, bridge_), bird_bridge_include(bridge_, routes)},
      {config_->include, bird_include(*config_)}};
  if (auto st = bird_apply(config_->bird_socket, files); !st) {
    spdlog::error("bgp: {}; trying again in {} ms", st.error(), kRetry.count());
    told_.reset();
    retry_at_ = now + kRetry;
    return;
  }
  spdlog::info("bgp: announcing {}", list(routes));
  told_ = routes;
}

void Announcer::withdraw_all() {
  if (!config_) return;
  told_.reset();
  auto w = withdraw_bridge(*config_, bridge_);
  if (!w) {
    spdlog::error("bgp: withdrawing: {}", w.error());
    return;
  }
  told_ = Announcement{};
  if (!w->was_exported) spdlog::info("bgp: withdrawn (nothing was exported)");
  else
    spdlog::info("bgp: withdrawn: BIRD stopped exporting after {} ms{}, then held {} ms for the peers",
                 w->unexported.count(), w->timed_out ? " (gave up waiting)" : "", w->held.count());
}

}  // namespace xdplb::bgp
