// lamina_compare: times every registered case for lamina and its peers and
// prints CSV `case,threads,lamina_ns,peer,peer_ns,ratio` (ratio =
// lamina_ns / peer_ns; below 1 means lamina is faster). bench/compare builds
// this program and runs it once per thread count with the peers' thread
// environment set for that run.
//
// Usage: lamina_compare [--threads N[,M...]] [--no-header] [--list] [FILTER]
//   FILTER       only cases whose name contains this substring
//   --threads    thread counts to run (default 1,2); may be repeated
//   --no-header  omit the CSV header line
//   --list       print the matching case names and peers, run nothing
//
// Rounds: this VM's speed drifts by 10-40 % for seconds at a time (another
// tenant, presumably), so a case measured once for lamina and then once for a
// peer can land its two halves in different weather. Each case is therefore
// measured in LAMINA_BENCH_ROUNDS (default 3) interleaved rounds (lamina,
// peers, lamina, peers, ...), each with 1/rounds of the time budget, and each
// side reports its fastest round (each round is itself a median over
// batches): the machine only ever slows code down, so the fastest round is
// the one least disturbed, and both sides get the same rule. Cases whose
// first round takes more than kLongRoundSeconds (cnn/epoch, which times a
// fixed number of epochs of 7-30 s) get one round only. The limit was 5 s
// up to the twenty-seventh run, which left gemm/sq2048 at 1 thread (about
// 6.5 s a round with its three peers) one round per side too: a 1.6 s
// measurement of each side minutes apart, where lamina's 160 ms calls and
// oneDNN's each moved by up to 8 % between runs.
//
// The log (stderr) starts and ends with machine_probe(): the FMA rate of one
// core and of two threads, and one core's L2 and L3 read rates at that
// moment, the weather of the run.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "compare_registry.h"
#include "machine_probe.h"
#include "lamina/core/isa.h"
#include "lamina/core/threading.h"

namespace {

using lamina::bench::CaseEntry;
using lamina::bench::TimedFn;

void usage(std::FILE* out) {
  std::fputs(
      "usage: lamina_compare [--threads N[,M...]] [--no-header] [--list] [FILTER]\n"
      "Prints CSV case,threads,lamina_ns,peer,peer_ns,ratio for the cases whose\n"
      "name contains FILTER (all when absent), for each thread count (default 1,2).\n",
      out);
}

bool parse_threads(std::string_view text, std::vector<int>& out) {
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string item(text.substr(0, comma));
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 1 || v > 1024) return false;
    out.push_back(static_cast<int>(v));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return true;
}

/// Runs one timing function; NaN (an empty CSV field) when it throws.
double run_timed(const TimedFn& fn, int threads, const std::string& what) {
  if (!fn) return NAN;
  try {
    return fn(threads);
  } catch (const std::exception& e) {
    lamina::bench::note(what + " failed: " + e.what());
  } catch (...) {
    lamina::bench::note(what + " failed with an unknown exception");
  }
  return NAN;
}

std::string fmt(double v, const char* format) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

/// Context for the log: lamina's kernel ISA, compiled-in peers, machine load.
void print_context(const std::vector<int>& threads) {
  std::string peers;
#ifdef LAMINA_HAVE_TORCH
  peers += " libtorch";
#endif
#ifdef LAMINA_HAVE_OPENBLAS
  peers += " openblas";
#endif
#ifdef LAMINA_HAVE_DNNL
  peers += " onednn";
#endif
#ifdef LAMINA_HAVE_RAW_LOOP
  peers += " raw_loop";
#endif
#ifdef LAMINA_HAVE_FMA_PEAK
  peers += " fma_peak";
#endif
  std::string load = "?";
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f)) {
      load = buf;
      if (!load.empty() && load.back() == '\n') load.pop_back();
    }
    std::fclose(f);
  }
  std::string ts;
  for (int t : threads) {
    if (!ts.empty()) ts += ',';
    ts += std::to_string(t);
  }
  lamina::bench::note("threads " + ts + ", lamina ISA " + std::string(lamina::isa_name(lamina::current_isa())) +
                      ", peers:" + (peers.empty() ? std::string(" none") : peers) + ", loadavg " + load);
  lamina::bench::note("at start, " + lamina::bench::machine_probe());
}

constexpr double kLongRoundSeconds = 10.0;

int rounds_from_env() {
  const char* env = std::getenv("LAMINA_BENCH_ROUNDS");
  const int r = env ? std::atoi(env) : 3;
  return r >= 1 && r <= 99 ? r : 3;
}

/// Smallest finite value (NaN when there is none).
double fastest(const std::vector<double>& v) {
  double best = NAN;
  for (double x : v)
    if (std::isfinite(x) && !(x >= best)) best = x;
  return best;
}

/// Lets spinning worker threads of the previous library (OpenMP, OpenBLAS,
/// TBB) go to sleep before the next measurement starts.
void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads;
  std::string filter;
  bool header = true;
  bool list = false;
  bool have_filter = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg == "--no-header") {
      header = false;
    } else if (arg == "--list") {
      list = true;
    } else if (arg == "--threads" || arg.starts_with("--threads=")) {
      std::string_view value;
      if (arg == "--threads") {
        if (i + 1 >= argc) {
          usage(stderr);
          return 2;
        }
        value = argv[++i];
      } else {
        value = arg.substr(10);
      }
      if (!parse_threads(value, threads)) {
        std::fprintf(stderr, "lamina_compare: bad thread count '%.*s'\n", int(value.size()), value.data());
        return 2;
      }
    } else if (arg == "--") {
      if (i + 1 < argc) filter = argv[++i], have_filter = true;
    } else if (arg.starts_with("-") && arg.size() > 1) {
      std::fprintf(stderr, "lamina_compare: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else if (!have_filter) {
      filter = argv[i];
      have_filter = true;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (threads.empty()) threads = {1, 2};

  std::vector<const CaseEntry*> selected;
  for (const auto& c : lamina::bench::cases())
    if (c.name.find(filter) != std::string::npos) selected.push_back(&c);
  if (selected.empty()) lamina::bench::note("no case matches '" + filter + "'");

  if (list) {
    for (const auto* c : selected) {
      std::printf("%s", c->name.c_str());
      for (const auto& p : c->peers) std::printf(" %s", p.peer.c_str());
      std::printf("\n");
    }
    return 0;
  }

  print_context(threads);
  if (header) std::printf("case,threads,lamina_ns,peer,peer_ns,ratio\n");
  std::fflush(stdout);
  const int rounds = rounds_from_env();
  for (const auto* c : selected) {
    for (int t : threads) {
      lamina::set_num_threads(t);
      std::vector<double> lamina_rounds;
      std::vector<std::vector<double>> peer_rounds(c->peers.size());
      lamina::bench::set_round_scale(1.0 / rounds);
      for (int r = 0; r < rounds; ++r) {
        const auto start = std::chrono::steady_clock::now();
        lamina_rounds.push_back(run_timed(c->lamina, t, c->name + " lamina"));
        for (std::size_t i = 0; i < c->peers.size(); ++i) {
          settle();
          peer_rounds[i].push_back(run_timed(c->peers[i].run, t, c->name + " " + c->peers[i].peer));
        }
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (r == 0 && took > kLongRoundSeconds) break;
        settle();
      }
      lamina::bench::set_round_scale(1.0);
      const double lamina_ns = fastest(lamina_rounds);
      // raw_loop and fma_peak are the machine's limits, not libraries: a case
      // with only those says `none` too, so a missing peer always shows.
      const bool has_library_peer = std::any_of(c->peers.begin(), c->peers.end(), [](const auto& p) {
        return p.peer != "raw_loop" && p.peer != "fma_peak";
      });
      if (!has_library_peer) {
        std::printf("%s,%d,%s,none,,\n", c->name.c_str(), t, fmt(lamina_ns, "%.1f").c_str());
      }
      for (std::size_t i = 0; i < c->peers.size(); ++i) {
        const auto& p = c->peers[i];
        const double peer_ns = fastest(peer_rounds[i]);
        std::printf("%s,%d,%s,%s,%s,%s\n", c->name.c_str(), t, fmt(lamina_ns, "%.1f").c_str(),
                    p.peer.c_str(), fmt(peer_ns, "%.1f").c_str(),
                    fmt(lamina_ns / peer_ns, "%.3f").c_str());
      }
      std::fflush(stdout);
      settle();
    }
  }
  lamina::bench::note("at end, " + lamina::bench::machine_probe());
  return 0;
}
