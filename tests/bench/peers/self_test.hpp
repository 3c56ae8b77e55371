// The parts of the benchmark that need no peer, checked against known answers: the
// statistics, the number and cell formats, the parsers of what children and the daemon
// say, the ratios and goal verdicts of a synthetic result, and the JSON. `ctest` runs it
// (--self-test) so CI proves the arithmetic, never the speed.
#pragma once

#include "results.hpp"

namespace duende::peers {

// Prints every failed check to stderr; 0 when all pass, else the number failed.
int self_test();
// A small made-up result (two counts, every column), for --dry-run and the self-test.
Results synthetic_results();

}  // namespace duende::peers
