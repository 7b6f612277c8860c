#include "ctrl/runtime/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace meshplane::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
constexpr const char* kNames[] = {"error", "warn", "info", "debug"};

}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level)); }
bool enabled(Level level) { return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, Level& out) {
  for (int i = 0; i < 4; ++i)
    if (text == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  return false;
}

void write(Level level, const std::string& message) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03lldZ %-5s %s\n", stamp, static_cast<long long>(ms), kNames[static_cast<int>(level)],
               message.c_str());
}

}  // namespace meshplane::log
