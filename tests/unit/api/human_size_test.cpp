// human_size: byte counts as STATUS= and the logs show them.
#include "api/human_size.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace duende::supervisor {
namespace {

struct SizeCase {
  std::uint64_t bytes;
  const char* text;
};

class HumanSize : public testing::TestWithParam<SizeCase> {};

TEST_P(HumanSize, UsesBinaryUnitsWithOneDecimalBelowTen) {
  EXPECT_EQ(human_size(GetParam().bytes), GetParam().text) << GetParam().bytes;
}

constexpr std::uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024, kTiB = kGiB * 1024;

INSTANTIATE_TEST_SUITE_P(
    Table, HumanSize,
    testing::Values(SizeCase{0, "0 B"}, SizeCase{1, "1 B"}, SizeCase{1023, "1023 B"},
                    SizeCase{kKiB, "1.0 KiB"}, SizeCase{1536, "1.5 KiB"},
                    SizeCase{10 * kKiB, "10 KiB"}, SizeCase{812 * kKiB, "812 KiB"},
                    SizeCase{5696 * kKiB, "5.6 MiB"}, SizeCase{9 * kMiB + 400 * kKiB, "9.4 MiB"},
                    SizeCase{kMiB, "1.0 MiB"}, SizeCase{83 * kMiB, "83 MiB"},
                    SizeCase{1023 * kMiB, "1023 MiB"}, SizeCase{kGiB, "1.0 GiB"},
                    SizeCase{1288490188, "1.2 GiB"}, SizeCase{100 * kGiB, "100 GiB"},
                    SizeCase{kTiB, "1.0 TiB"}, SizeCase{kTiB * 1024, "1.0 PiB"},
                    SizeCase{kTiB * 1024 * 1024, "1.0 EiB"},
                    SizeCase{std::numeric_limits<std::uint64_t>::max(), "16 EiB"}));

}  // namespace
}  // namespace duende::supervisor
