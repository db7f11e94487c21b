// libFuzzer target on lamina's model loader (issue 7). Built only with clang
// and -DLAMINA_BUILD_FUZZ=ON (see README.md). Each input is tried twice:
//  1. as is, through deserialize_model (the real load path: checksums,
//     container, JSON, model build, weight/optimizer matching);
//  2. with every section's crc32 (and the header's) recomputed, so that
//     mutations get past the checksums: through parse_model_file (the
//     tensor-block, JSON and record parsers) and then deserialize_model
//     (model build, weight matching, compile config, optimizer restore). A
//     mutated architecture asking for huge layers is refused by the loader's
//     bounds (weight bytes against the file, a per-request allocation limit
//     while building), which this mode checks too.
// Any lamina::Error is an expected rejection; anything else (crash, ASan or
// UBSan report, other exception) is a finding.
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "lamina/core/error.h"
#include "lamina/serialization/saving.h"

namespace {

void fix_checksums(std::vector<std::uint8_t>& b) {
  if (b.size() < 24) return;
  std::uint32_t count;
  std::memcpy(&count, b.data() + 16, 4);
  std::uint32_t crc = static_cast<std::uint32_t>(crc32(0, b.data(), 20));
  std::memcpy(b.data() + 20, &crc, 4);
  std::size_t pos = 24;
  for (std::uint32_t i = 0; i < count && i < 64; ++i) {
    if (b.size() - pos < 20) return;
    std::uint64_t len;
    std::memcpy(&len, b.data() + pos + 8, 8);
    if (len > b.size() - pos - 20) return;
    crc = static_cast<std::uint32_t>(crc32(0, b.data() + pos, 16));
    crc = static_cast<std::uint32_t>(crc32_z(crc, b.data() + pos + 20, len));
    std::memcpy(b.data() + pos + 16, &crc, 4);
    pos += 20 + len;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    lamina::deserialize_model({data, size}, {}, "fuzz");
  } catch (const lamina::Error&) {
  }
  std::vector<std::uint8_t> fixed(data, data + size);
  fix_checksums(fixed);
  try {
    lamina::parse_model_file(fixed, "fuzz (checksums fixed)");
    lamina::deserialize_model(fixed, {}, "fuzz (checksums fixed)");
  } catch (const lamina::Error&) {
  }
  return 0;
}
