// The kernel-facing side of BGP: BIRD 2 through its control socket (the protocol birdc
// speaks: lines "CODE-text" continue a reply, "CODE text" ends it; codes from 8000 are errors).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace xdplb::bgp {

// Sends `command` (e.g. "configure") and returns the reply's text; an error if BIRD is not
// there, answers with an error code, or takes longer than `timeout`.
Result<std::string> bird_command(const std::string& socket_path, const std::string& command,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

struct IncludeFile {
  std::string path;
  std::string text;
};

// Writes each file (atomically, in order, making its directory) and asks BIRD to re-read its
// config.
Status bird_apply(const std::string& socket_path, const std::vector<IncludeFile>& files);

}  // namespace xdplb::bgp
