// escape_control: control bytes and invalid UTF-8 become \xNN; printable text and valid
// multi-byte characters stay as they are.
#include "api/text_escape.hpp"

#include <gtest/gtest.h>

#include <string>

namespace duende::supervisor {
namespace {

TEST(EscapeControl, KeepsPrintableTextAndValidUtf8) {
  EXPECT_EQ(escape_control("ublk-swap0: exited with status 3"), "ublk-swap0: exited with status 3");
  EXPECT_EQ(escape_control("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(EscapeControl, WritesControlBytesAsHex) {
  EXPECT_EQ(escape_control(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(escape_control("\x01\t\n\r\x1b[31m\x7f"), "\\x01\\x09\\x0a\\x0d\\x1b[31m\\x7f");
}

TEST(EscapeControl, WritesInvalidUtf8AsHex) {
  EXPECT_EQ(escape_control("\xff"), "\\xff");
  EXPECT_EQ(escape_control("\xc3"), "\\xc3");                             // cut short
  EXPECT_EQ(escape_control("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_control("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(escape_control("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

}  // namespace
}  // namespace duende::supervisor
