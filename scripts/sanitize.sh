#!/usr/bin/env bash
# The sanitizer jobs of CI (issue 9), each in its own build directory:
#   scripts/sanitize.sh asan   whole test suite under ASan + UBSan + LeakSanitizer (clang)
#   scripts/sanitize.sh tsan   the multithreaded tests under ThreadSanitizer (clang)
#   scripts/sanitize.sh fuzz [SECONDS]   libFuzzer on the model loader (default 60 s),
#                              from a seed corpus of valid files; uses the asan build
# Installs clang and its sanitizer runtimes when missing. Suppressions (only
# for findings inside dependencies, each with its reason) are in .ci/*.supp.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CCACHE_BASEDIR="$root"
# These builds carry debug info (-g), for which ccache hashes the working
# directory by default: every fresh clone then missed the whole cache
# (ASan: about 470 s of build each time). Stack traces still name the right
# files and lines; only the recorded build directory may be an older
# clone's.
export CCACHE_NOHASHDIR=1
job="${1:?usage: scripts/sanitize.sh asan|tsan|fuzz [SECONDS]}"
scripts/install-deps.sh --sanitizers

# The test executables that run more than one thread (TBB kernels at 1 and 2
# threads, the elementwise kernels over long tensors, concurrent
# predict/fit, two tapes on two std::threads, the allocator's per-thread
# caches, the registry). The job runs them with LAMINA_NUM_THREADS=2.
threaded_tests=(test_reliability test_autograd_tape test_allocator test_random test_reduce test_gemm
                test_optim test_conv test_data test_training test_unary test_binary test_tensor)

case "$job" in
  asan)
    cmake --preset asan >/dev/null
    cmake --build --preset asan
    ctest --preset asan
    ;;
  tsan)
    cmake --preset tsan >/dev/null
    cmake --build --preset tsan --target "${threaded_tests[@]}"
    LAMINA_NUM_THREADS=2 ctest --preset tsan
    ;;
  fuzz)
    seconds="${2:-60}"
    cmake --preset asan >/dev/null
    cmake --build --preset asan --target fuzz_load_model make_seed_corpus
    dir=build/asan/tests/fuzz
    rm -rf "$dir/corpus-seed" "$dir/corpus" && mkdir -p "$dir/corpus" "$dir/artifacts"
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/.ci/ubsan.supp" \
      "$dir/make_seed_corpus" "$dir/corpus-seed"
    # New inputs go to a scratch corpus; a crash/leak/oom/timeout input is
    # written to artifacts/ and fails the job.
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/.ci/ubsan.supp" \
    ASAN_OPTIONS="allocator_may_return_null=1:detect_leaks=1" \
      "$dir/fuzz_load_model" "$dir/corpus" "$dir/corpus-seed" -max_total_time="$seconds" -max_len=65536 \
      -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix="$dir/artifacts/"
    ;;
  *) echo "unknown job '$job': asan, tsan or fuzz" >&2; exit 2 ;;
esac
