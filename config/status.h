// The control side's one way to report a failure; exceptions are kept for
// the daemon's start-up. A Status carries a code that programs act on (the
// API maps it to a gRPC status, meshctl to an exit code), a message for
// people, and, when the problem is in operator input, every problem with its
// file:line:column. Results that carry a value on success derive from it
// (config::ParseResult, ctrl::CompileResult, ctrl::Outcome).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/diagnostic.h"

namespace meshplane::config {

struct Status {
  enum class Code { kOk, kInvalid, kNeedsRestart, kNotFound, kAlreadyExists, kExhausted };
  Code code = Code::kOk;
  std::string message;             // for people; empty when ok
  std::vector<Diagnostic> errors;  // kInvalid: every problem in the input, with its position

  bool ok() const { return code == Code::kOk; }
  // The status part of a derived result, to assign a failure to.
  Status& status() { return *this; }

  static Status failure(Code code, std::string message) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
  }
  // Problems in operator input, all of them: "file:line:column: error: ..." lines.
  static Status invalid(std::vector<Diagnostic> errors) {
    Status s = failure(Code::kInvalid, format(errors));
    s.errors = std::move(errors);
    return s;
  }
};

}  // namespace meshplane::config
