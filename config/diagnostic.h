// Errors in operator input, reported all at once like a compiler does.
#pragma once

#include <string>
#include <vector>

#include "config/model.h"

namespace meshplane::config {

struct Diagnostic {
  std::string file;
  Mark mark;
  std::string message;
  bool warning = false;  // the input is valid, but probably not what was meant
};

// "file:line:column: error: message" (or "warning:"), one per line.
std::string format(const Diagnostic& d);
std::string format(const std::vector<Diagnostic>& ds);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Mark mark, std::string message) {
    list_.push_back({file_, mark, std::move(message)});
  }
  void warning(Mark mark, std::string message) {
    warnings_.push_back({file_, mark, std::move(message), true});
  }
  bool ok() const { return list_.empty(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  std::vector<Diagnostic> take() { return std::move(list_); }
  std::vector<Diagnostic> take_warnings() { return std::move(warnings_); }

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace meshplane::config
