//===- Status.h - Error values of the hssm runtime --------------*- C++ -*-===//
//
// The runtime and the JIT report failures as values, never by aborting: a
// Status is either ok or carries one human-readable message that names the
// value and the rule that failed.
//
//===----------------------------------------------------------------------===//
#ifndef HSSM_RUNTIME_STATUS_H
#define HSSM_RUNTIME_STATUS_H

#include <string>
#include <utility>

namespace hssm {

class Status {
public:
  Status() = default;
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.text = std::move(message);
    return s;
  }
  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  const std::string &message() const { return text; }

private:
  bool failed = false;
  std::string text;
};

} // namespace hssm

#endif // HSSM_RUNTIME_STATUS_H
