// Result<T, E>: a small stand-in for C++23's std::expected.
//
// GCC 12 ships <expected> only for C++23, and the library must serve C++20 consumers, so
// the library carries this type with std::expected's member names. It is deliberately not
// switched to std::expected when that exists: the ABI would then differ between C++20 and
// C++23 consumers of the same shared library.
//
// A Result holds either a value (has_value() is true) or an error. Accessing the wrong
// alternative is a programming error: value() on an error throws BadResultAccess, error()
// on a value is undefined behaviour (checked by assert in debug builds).
#pragma once

#include <cassert>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#ifndef DUENDE_MLOCK_API
// Marks what libduende-mlock.so exports; the library is built with hidden visibility.
#define DUENDE_MLOCK_API __attribute__((visibility("default")))
#endif

namespace duende::mlock {

// Thrown by Result::value() when the Result holds an error.
class DUENDE_MLOCK_API BadResultAccess : public std::logic_error {
 public:
  BadResultAccess() : std::logic_error("duende::mlock::Result: value() called on an error") {}
};

// Wraps an error so that Result<T, E> can be built from it unambiguously, even when T and
// E are the same or convertible types (as std::unexpected does).
template <class E>
class Unexpected {
 public:
  explicit Unexpected(E e) : error_(std::move(e)) {}
  const E& error() const& noexcept { return error_; }
  E&& error() && noexcept { return std::move(error_); }

 private:
  E error_;
};

template <class T, class E>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  // Success holding `value`.
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  // Failure holding `u.error()`.
  template <class G>
  Result(Unexpected<G> u)  // NOLINT
      : storage_(std::in_place_index<1>, std::move(u).error()) {}

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  // The value; throws BadResultAccess when this holds an error.
  T& value() & { return check(), std::get<0>(storage_); }
  const T& value() const& { return check(), std::get<0>(storage_); }
  T&& value() && { return check(), std::move(std::get<0>(storage_)); }

  // The value, without a check: only after has_value() said true.
  T& operator*() & noexcept { return *std::get_if<0>(&storage_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&storage_); }
  T* operator->() noexcept { return std::get_if<0>(&storage_); }
  const T* operator->() const noexcept { return std::get_if<0>(&storage_); }

  // The error: only when has_value() is false.
  const E& error() const& noexcept {
    assert(!has_value());
    return *std::get_if<1>(&storage_);
  }
  E& error() & noexcept {
    assert(!has_value());
    return *std::get_if<1>(&storage_);
  }

  // The value, or `fallback` when this holds an error.
  template <class U>
  T value_or(U&& fallback) const& {
    return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void check() const {
    if (!has_value()) throw BadResultAccess();
  }
  std::variant<T, E> storage_;
};

// Result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  using value_type = void;
  using error_type = E;

  Result() = default;
  template <class G>
  Result(Unexpected<G> u) : error_(std::move(u).error()) {}  // NOLINT

  bool has_value() const noexcept { return !error_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  // Throws BadResultAccess when this holds an error.
  void value() const {
    if (!has_value()) throw BadResultAccess();
  }
  void operator*() const noexcept {}
  const E& error() const& noexcept {
    assert(!has_value());
    return *error_;
  }

 private:
  std::optional<E> error_;
};

}  // namespace duende::mlock
