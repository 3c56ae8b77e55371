#include "printable_text.hpp"

namespace duende::mlock::internal {
namespace {

bool is_printable(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte >= 0x20 && byte <= 0x7e;
}

}  // namespace

std::string printable_text(std::string_view text, std::size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr std::string_view kCut = "...";
  std::size_t escaped_size = 0;
  for (char c : text) escaped_size += is_printable(c) ? 1 : 4;
  // When the whole text does not fit, every piece keeps room for "..." after it.
  const std::size_t reserve = escaped_size <= max_bytes ? 0 : kCut.size();
  std::string out;
  for (char c : text) {
    const std::size_t piece_size = is_printable(c) ? 1 : 4;
    if (out.size() + piece_size + reserve > max_bytes) break;
    if (piece_size == 1) {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xf]};
    }
  }
  if (reserve != 0 && out.size() + kCut.size() <= max_bytes) out += kCut;
  return out;
}

}  // namespace duende::mlock::internal
