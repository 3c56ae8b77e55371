// printable_text(): /proc text made safe for a log line or a D-Bus string.
#include "printable_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace duende::mlock::internal {
namespace {

TEST(PrintableText, KeepsPrintableAscii) {
  EXPECT_EQ(printable_text("/usr/lib/x.so (deleted) \\012"), "/usr/lib/x.so (deleted) \\012");
  EXPECT_EQ(printable_text(""), "");
}

TEST(PrintableText, EscapesControlAndNonAsciiBytes) {
  EXPECT_EQ(printable_text(std::string("a\nb\x1b[31m\x7f\0c", 11)), "a\\x0ab\\x1b[31m\\x7f\\x00c");
  EXPECT_EQ(printable_text("caf\xc3\xa9"), "caf\\xc3\\xa9");
}

TEST(PrintableText, CutsLongTextBetweenEscapes) {
  EXPECT_EQ(printable_text("abcdefgh", 8), "abcdefgh");
  EXPECT_EQ(printable_text("abcdefghi", 8), "abcde...");
  // "ab" + "\x01" would end at 6 bytes, leaving no room for "..." in 8.
  EXPECT_EQ(printable_text("ab\001cdef", 8), "ab...");
  EXPECT_EQ(printable_text(std::string(1000, '\x01')).size(), 255u);  // 63 escapes + "..."
  EXPECT_EQ(printable_text("abcdef", 2), "");
}

}  // namespace
}  // namespace duende::mlock::internal
