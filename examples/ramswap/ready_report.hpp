// What ramswap tells its supervisor (sd_notify datagrams to $NOTIFY_SOCKET) and its user
// (stdout) about the device it serves.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ramswap {

// The readiness datagram's field naming the block device to swap on, e.g.
// "X_DUENDE_SWAP_DEVICE=/dev/loop7". A supervisor that manages the swap of its children
// reads the device from here.
inline constexpr std::string_view kSwapDeviceField = "X_DUENDE_SWAP_DEVICE";

// "READY=1\nSTATUS=serving 128 MiB on /dev/loop7\nX_DUENDE_SWAP_DEVICE=/dev/loop7\n". Pure.
std::string ready_message(std::string_view device, std::uint64_t size_bytes);

// "STATUS=refusing to stop: swap is still on /dev/loop7 (swapoff first)\n". Pure.
std::string refused_stop_message(std::string_view device);

// "STOPPING=1\nSTATUS=stopping: detaching /dev/loop7\n". Pure.
std::string stopping_message(std::string_view device);

// Sends `message` to $NOTIFY_SOCKET without waiting (the library's notify_send with no
// timeout): a busy supervisor loses a status line, the swap device never waits. Logs a
// failure. Nothing happens when NOTIFY_SOCKET is unset.
void notify(const std::string& message);

}  // namespace ramswap
