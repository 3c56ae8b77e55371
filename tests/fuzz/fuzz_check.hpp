// What every fuzz target shares: a check that stops the run with a message libFuzzer keeps
// next to the crasher, and the rule that only running out of memory may throw.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>

// Aborts (libFuzzer saves the input as a crasher) when `condition` is false. Used for the
// invariants each target checks beyond "did not crash".
#define DUENDE_FUZZ_CHECK(condition)                                                         \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace duende::fuzz {

// Runs `body`. The parsers report expected failures as values, so an exception is a bug,
// except std::bad_alloc: running out of memory is not a parsing mistake (and libFuzzer's
// -rss_limit_mb / -malloc_limit_mb catch inputs that make memory blow up).
template <class Body>
void run_without_exceptions(Body body) {
  try {
    body();
  } catch (const std::bad_alloc&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exception escaped: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "exception escaped (not a std::exception)\n");
    std::abort();
  }
}

}  // namespace duende::fuzz
