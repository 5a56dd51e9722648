#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/fd.h"

namespace xdplb {

Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  // A dot-file not ending in the file's own suffix, so nothing that lists the directory (state
  // files: list_bridges) takes a half-written temp for the real thing.
  std::string tmp = (fs::path(dir) / ("." + p.filename().string() + ".tmp-XXXXXX")).string();
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return make_error("cannot create a temp file in " + dir + ": " + std::strerror(errno));
  auto fail = [&](const std::string& what) -> Status {
    const int err = errno;
    ::unlink(tmp.c_str());
    return make_error("cannot write " + path + ": " + what + ": " + std::strerror(err));
  };
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write " + tmp);
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod " + tmp);
  if (::fsync(fd.get()) != 0) return fail("fsync " + tmp);
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename " + tmp);
  // Make the rename itself durable.
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.valid()) ::fsync(dfd.get());
  return {};
}

}  // namespace xdplb
