#include "containers/lxc_container.h"

#include <cstdlib>
#include <utility>

namespace xdplb {

namespace {

// liblxc hands out malloc'ed strings.
std::string take_string(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

}  // namespace

Result<LxcContainer> LxcContainer::open(const std::string& name, const std::string& lxcpath) {
  lxc_container* c = lxc_container_new(name.c_str(), lxcpath.c_str());
  if (!c) return make_error("liblxc cannot open container '" + name + "' under " + lxcpath);
  return LxcContainer(c);
}

LxcContainer::LxcContainer(LxcContainer&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}

LxcContainer& LxcContainer::operator=(LxcContainer&& o) noexcept {
  if (this != &o) {
    if (c_) lxc_container_put(c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}

LxcContainer::~LxcContainer() {
  if (c_) lxc_container_put(c_);
}

bool LxcContainer::defined() const { return c_->is_defined(c_); }
bool LxcContainer::running() const { return c_->is_running(c_); }

std::string LxcContainer::state() const {
  const char* s = c_->state(c_);  // a static string, not to be freed
  return s ? s : "UNKNOWN";
}

pid_t LxcContainer::init_pid() const { return c_->init_pid(c_); }

std::optional<std::string> LxcContainer::running_config_item(const std::string& key) const {
  char* v = c_->get_running_config_item(c_, key.c_str());
  if (!v) return std::nullopt;
  return take_string(v);
}

std::string default_lxcpath() {
  const char* p = lxc_get_global_config_item("lxc.lxcpath");  // owned by liblxc
  return p ? p : "/var/lib/lxc";
}

std::vector<std::string> lxc_container_names(const std::string& lxcpath) {
  char** names = nullptr;
  const int n = list_all_containers(lxcpath.c_str(), &names, nullptr);
  if (n <= 0) {
    std::free(names);
    return {};
  }
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(take_string(names[i]));
  std::free(names);
  return out;
}

}  // namespace xdplb
