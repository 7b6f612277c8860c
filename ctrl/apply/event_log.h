// Recent control-plane events (policy applied or rejected, endpoints draining
// or drained) for the API's WatchEvents stream. Written by the control
// thread, read by gRPC threads: a mutex and a condition variable, never on
// the packet path.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace meshplane::ctrl {

struct Event {
  uint64_t sequence = 0;
  uint64_t time_unix_ms = 0;
  std::string kind;
  uint64_t generation = 0;
  std::string message;
};

class EventLog {
 public:
  static constexpr size_t kKept = 64;

  void add(std::string kind, uint64_t generation, std::string message) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    {
      std::lock_guard lock(mutex_);
      events_.push_back({++last_, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()),
                         std::move(kind), generation, std::move(message)});
      if (events_.size() > kKept) events_.pop_front();
    }
    changed_.notify_all();
  }

  // Events with a sequence above `after`, waiting up to `timeout` for one.
  std::vector<Event> after(uint64_t after, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return last_ > after; });
    std::vector<Event> out;
    for (const auto& e : events_)
      if (e.sequence > after) out.push_back(e);
    return out;
  }

  uint64_t last() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Event> events_;
  uint64_t last_ = 0;
};

}  // namespace meshplane::ctrl
