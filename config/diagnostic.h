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
};

// "file:line:column: error: message", one per line.
std::string format(const Diagnostic& d);
std::string format(const std::vector<Diagnostic>& ds);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void error(Mark mark, std::string message) {
    list_.push_back({file_, mark, std::move(message)});
  }
  bool ok() const { return list_.empty(); }
  const std::vector<Diagnostic>& list() const { return list_; }
  std::vector<Diagnostic> take() { return std::move(list_); }

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

}  // namespace meshplane::config
