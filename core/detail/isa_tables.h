#pragma once
// Internal: one kernel table per instruction set, picked by current_isa().
// A table is fetched only when its ISA is supported, so code from an ISA
// unit never runs on a CPU without that ISA.

#include "lamina/core/isa.h"

namespace lamina::detail {

template <class Table>
class IsaTables {
 public:
  /// The three factories return the SSE4.2, AVX2 and AVX-512 tables.
  IsaTables(const Table* (*sse42)(), const Table* (*avx2)(), const Table* (*avx512)()) {
    if (isa_supported(Isa::sse42)) tables_[0] = sse42();
    if (isa_supported(Isa::avx2)) tables_[1] = avx2();
    if (isa_supported(Isa::avx512)) tables_[2] = avx512();
  }
  /// The table of the ISA kernels dispatch to now.
  const Table& current() const { return *tables_[static_cast<int>(current_isa())]; }

 private:
  const Table* tables_[kIsaCount] = {};
};

}  // namespace lamina::detail
