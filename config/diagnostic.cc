#include "config/diagnostic.h"

#include <fmt/format.h>

namespace meshplane::config {

std::string format(const Diagnostic& d) {
  if (d.mark.line == 0) return fmt::format("{}: error: {}", d.file, d.message);  // no position to give
  return fmt::format("{}:{}:{}: error: {}", d.file, d.mark.line, d.mark.column, d.message);
}

std::string format(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) {
    out += format(d);
    out += '\n';
  }
  return out;
}

}  // namespace meshplane::config
