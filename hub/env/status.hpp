// Status and Result<T>: errors as values for everything below main().
//
// Core, simulator and adapters never throw. A Status is ok or carries a code and a message;
// Result<T> holds a T or a non-ok Status. Both are [[nodiscard]].
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "hub/env/assert.hpp"

namespace hub {

enum class Code {
    ok = 0,
    invalid_argument,
    not_found,
    already_exists,
    failed_precondition,  // an If-Match etag that no longer matches
    unauthorized,
    resource_exhausted,
    unavailable,  // transient: the peer or the disk is gone for now, retry later
    corruption,   // data on disk failed a checksum where it must not
    io_error,
    internal,
};

const char* code_name(Code code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
        HUB_ASSERT(code != Code::ok);
    }
    static Status ok_status() { return Status(); }

    bool ok() const { return code_ == Code::ok; }
    Code code() const { return code_; }
    const std::string& message() const { return message_; }
    std::string to_string() const;

  private:
    Code code_ = Code::ok;
    std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
    Result(Status status) : status_(std::move(status)) { HUB_ASSERT(!status_.ok()); }  // NOLINT

    bool ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }
    T& value() {
        HUB_ASSERT(ok());
        return *value_;
    }
    const T& value() const {
        HUB_ASSERT(ok());
        return *value_;
    }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::optional<T> value_;
    Status status_;
};

}  // namespace hub
