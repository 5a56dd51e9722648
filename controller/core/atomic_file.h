// Replacing a file's whole content so that readers see the old text or the new one, never a
// part: a temp file beside it (".NAME.tmp-XXXXXX"), fsync, rename, fsync of the directory.
#pragma once

#include <sys/types.h>

#include <string>

#include "core/result.h"

namespace xdplb {

Status write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0600);

}  // namespace xdplb
