#include "config/diagnostic.h"

#include <fmt/format.h>

namespace meshplane::config {

std::string format(const Diagnostic& d) {
  const char* kind = d.warning ? "warning" : "error";
  if (d.mark.line == 0) return fmt::format("{}: {}: {}", d.file, kind, d.message);  // no position to give
  return fmt::format("{}:{}:{}: {}: {}", d.file, d.mark.line, d.mark.column, kind, d.message);
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
