#pragma once
// Registry of the cases printed by bench/compare (CSV:
// case,threads,lamina_ns,peer,peer_ns,ratio). Each case registers lamina's
// timing function once and zero or more peers; every function takes the
// thread count of the row and returns nanoseconds per operation.

#include <functional>
#include <string>
#include <vector>

namespace lamina::bench {

using TimedFn = std::function<double(int threads)>;

struct PeerEntry {
  std::string peer;
  TimedFn run;
};

struct CaseEntry {
  std::string name;
  TimedFn lamina;
  std::vector<PeerEntry> peers;
};

/// All cases in registration order.
std::vector<CaseEntry>& cases();
/// Adds (or completes) the case `name` with lamina's timing function.
void register_case(const std::string& name, TimedFn lamina);
/// Adds a peer timing function to case `name` (created if absent).
void register_peer(const std::string& name, const std::string& peer, TimedFn run);

/// Median nanoseconds per call of `fn` over repeated batches lasting about
/// `min_seconds` (times the time scale and the round scale) in total, after
/// a warm-up call.
double time_ns(const std::function<void()>& fn, double min_seconds = 0.3);

/// Scales time_ns's budget while lamina_compare splits a case into several
/// interleaved rounds (1 / rounds), so a case takes about as long as with one.
void set_round_scale(double scale);

/// Static registration helper: `static Registrar r([] { register_case(...); });`
struct Registrar {
  explicit Registrar(void (*fn)()) { fn(); }
};

// ---- helpers for peers' thread pools ----------------------------------------

/// Sets OpenBLAS's pthread pool size when OpenBLAS is loaded in the process
/// (libtorch loads it for matmul; a peer may link it directly). Looked up at
/// run time, so callers need not link OpenBLAS. Returns false when absent.
/// OpenBLAS never grows beyond the size it started with (OPENBLAS_NUM_THREADS,
/// else OMP_NUM_THREADS), so bench/compare starts the 2-thread run with 2.
bool set_openblas_threads(int n);

/// Prints a note to stderr (e.g. which thread split a peer's row used).
void note(const std::string& text);

}  // namespace lamina::bench
