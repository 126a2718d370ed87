// Status: the result of connector I/O that the caller must look at (no exceptions across this line).
#pragma once

#include <string>
#include <utility>

namespace weir {

class [[nodiscard]] Status {
 public:
  enum class Code { Ok, Retryable, Fatal };
  static Status ok() { return Status(Code::Ok, {}); }
  static Status retryable(std::string msg) { return Status(Code::Retryable, std::move(msg)); }
  static Status fatal(std::string msg) { return Status(Code::Fatal, std::move(msg)); }

  bool is_ok() const { return code_ == Code::Ok; }
  bool is_retryable() const { return code_ == Code::Retryable; }
  bool is_fatal() const { return code_ == Code::Fatal; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_;
  std::string message_;
};

}  // namespace weir
