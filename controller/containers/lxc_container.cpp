#include "containers/lxc_container.h"

#include <dlfcn.h>

#include <cstdlib>
#include <utility>

namespace xdplb {

namespace {

// liblxc's entry points, loaded at the first container look-up instead of at every exec:
// liblxc and what it pulls in (libselinux, libapparmor, libseccomp, libcap, libpcre2) cost
// every command the dynamic loader's time, and only the commands that resolve a container
// by name use it. The struct's methods (is_running, init_pid, ...) are function pointers of
// the container object and need no symbol.
struct LxcApi {
  decltype(&::lxc_container_new) container_new = nullptr;
  decltype(&::lxc_container_put) container_put = nullptr;
  decltype(&::lxc_get_global_config_item) global_config_item = nullptr;
  decltype(&::list_all_containers) list_all_containers = nullptr;
  std::string error;  // why liblxc is not usable ("" when it is)
};

template <typename F>
void load_symbol(void* lib, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(::dlsym(lib, name));
  if (!out && error.empty()) error = std::string("liblxc has no ") + name;
}

const LxcApi& lxc_api() {
  static const LxcApi api = [] {
    LxcApi a;
    void* lib = ::dlopen("liblxc.so.1", RTLD_NOW | RTLD_LOCAL);  // kept open for the process
    if (!lib) {
      const char* why = ::dlerror();
      a.error = std::string("liblxc cannot be loaded (") + (why ? why : "?") + "): install liblxc1 (the lxc package)";
      return a;
    }
    load_symbol(lib, "lxc_container_new", a.container_new, a.error);
    load_symbol(lib, "lxc_container_put", a.container_put, a.error);
    load_symbol(lib, "lxc_get_global_config_item", a.global_config_item, a.error);
    load_symbol(lib, "list_all_containers", a.list_all_containers, a.error);
    return a;
  }();
  return api;
}

// liblxc hands out malloc'ed strings.
std::string take_string(char* s) {
  std::string out = s ? s : "";
  std::free(s);
  return out;
}

}  // namespace

Result<LxcContainer> LxcContainer::open(const std::string& name, const std::string& lxcpath) {
  const LxcApi& lxc = lxc_api();
  if (!lxc.error.empty()) return make_error(lxc.error);
  lxc_container* c = lxc.container_new(name.c_str(), lxcpath.c_str());
  if (!c) return make_error("liblxc cannot open container '" + name + "' under " + lxcpath);
  return LxcContainer(c);
}

LxcContainer::LxcContainer(LxcContainer&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}

LxcContainer& LxcContainer::operator=(LxcContainer&& o) noexcept {
  if (this != &o) {
    if (c_) lxc_api().container_put(c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}

LxcContainer::~LxcContainer() {
  if (c_) lxc_api().container_put(c_);  // c_ came from container_new: the API is loaded
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
  const LxcApi& lxc = lxc_api();
  const char* p = lxc.error.empty() ? lxc.global_config_item("lxc.lxcpath") : nullptr;  // owned by liblxc
  return p ? p : "/var/lib/lxc";
}

std::vector<std::string> lxc_container_names(const std::string& lxcpath) {
  const LxcApi& lxc = lxc_api();
  if (!lxc.error.empty()) return {};
  char** names = nullptr;
  const int n = lxc.list_all_containers(lxcpath.c_str(), &names, nullptr);
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
