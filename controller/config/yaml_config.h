// YAML text <-> ConfigFile. Parsing checks every value the way the CLI does (core/parse.h, the
// model's name tables) and reports the first problem as "FILE:LINE: KEY: what is wrong; what to
// write instead". Writing gives the format parsing reads, with only non-default values, so
// parse(write(c)) == c.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace xdplb::config {

// `origin` names the text in messages (the file name, or "-" for stdin).
Result<ConfigFile> parse_config(std::string_view text, const std::string& origin);

std::string config_to_yaml(const ConfigFile& config);

}  // namespace xdplb::config
