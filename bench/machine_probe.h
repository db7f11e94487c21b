#pragma once
// The state of this machine at one moment, for the log of a bench/compare
// run (stderr; the CSV is unchanged).

#include <cstdint>
#include <string>

namespace lamina::bench {

/// Twelve independent chains of 256-bit FMAs held in registers (more than
/// FMA latency x FMA ports on current x86 cores, so the FMA units never
/// wait), run `iterations` times: kFmaChainFlops flops per iteration. Only
/// on CPUs with AVX2 and FMA.
float fma_chains(std::int64_t iterations);
inline constexpr double kFmaChainFlops = 12 * 8 * 2;

/// The same with 512-bit FMAs (kFmaChain512Flops per iteration). Only on CPUs
/// with AVX-512F. Some cores run these at twice the 256-bit rate (two 512-bit
/// FMA units), others at the same rate (Zen 4 splits each into two halves).
float fma_chains_512(std::int64_t iterations);
inline constexpr double kFmaChain512Flops = 12 * 16 * 2;

/// One line: how fast one core does FMAs from registers, and two threads
/// together, and how fast one core reads a buffer held in its L2 (256 KiB)
/// and one held in L3 (8 MiB), e.g. "probe: fma 117 GFLOP/s (2 threads:
/// 230), L2 read 90 GB/s, L3 read 41 GB/s (1 thread)". Each figure is the
/// best of five batches of about 10 ms; the probe takes about 0.5 s. On the
/// project's VM the slow spells show in all of them, and the two-thread
/// figure at times equals the one-thread figure (the two vCPUs then share
/// one core's FMA units), when a row at 2 threads cannot gain on 1. Without
/// AVX2+FMA the fma figures are omitted.
std::string machine_probe();

}  // namespace lamina::bench
