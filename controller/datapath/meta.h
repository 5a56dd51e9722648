// The ABI version a bridge's pins were made with: a one-entry array map pinned as
// <pin_dir>/meta, written at attach (and at an in-place upgrade), read before any pinned map is
// reused, so a binary never misreads maps of another layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"

namespace xdplb {

inline constexpr const char* kMetaPin = "meta";

// XDPLB_ABI_VERSION, the layout this build reads and writes (the upgrade test builds an older
// commit for another one).
uint32_t abi_version();

// Creates and pins <pin_dir>/meta holding abi_version() (replacing one that is there).
Status write_meta(const std::string& pin_dir);
// The version the pins carry; nullopt when there is no meta pin (pins made before versions).
Result<std::optional<uint32_t>> read_meta(const std::string& pin_dir);

}  // namespace xdplb
