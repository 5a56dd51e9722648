// Result<T>: a value or an error message that says what failed and what to do instead.
// Functions at the edges (kernel, netlink, files, user input) return this rather than
// throwing or logging, so the caller that decides also reports, once.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace xdplb {

struct Error {
  std::string message;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const std::string& error() const { return std::get<Error>(v_).message; }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error.message)), failed_(true) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const std::string& error() const { return error_; }

 private:
  std::string error_;
  bool failed_ = false;
};

using Status = Result<void>;

// Prefix an error with context: "attach lxdbr0: " + inner message.
template <typename T>
Result<T> with_context(Result<T> r, const std::string& context) {
  if (r.ok()) return r;
  return make_error(context + ": " + r.error());
}

}  // namespace xdplb

// Early return on error, for functions that themselves return a Result.
#define XDPLB_TRY(expr)                                            \
  do {                                                             \
    auto xdplb_try_result_ = (expr);                               \
    if (!xdplb_try_result_.ok())                                   \
      return ::xdplb::make_error(xdplb_try_result_.error());       \
  } while (0)
