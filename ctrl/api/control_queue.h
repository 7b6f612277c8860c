// Work that API threads hand to the control thread, which owns the policy,
// the registry and the snapshots. call() blocks the API thread until the
// control loop has run the task (it polls every 100 µs) or the queue closes.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace meshplane::ctrl {

class ControlQueue {
 public:
  // Runs `task` on the control thread; false if the daemon is stopping, or if
  // `abandoned` (asked every 10 ms while the task waits its turn) said yes
  // before the task started: then it never runs and leaves the queue.
  bool call(std::function<void()> task, const std::function<bool()>& abandoned = {}) {
    auto item = std::make_shared<Item>(Item{std::move(task)});
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    queue_.push_back(item);
    while (item->state == State::kQueued) {
      if (!abandoned) {
        done_.wait(lock, [&] { return item->state != State::kQueued; });
        break;
      }
      done_.wait_for(lock, std::chrono::milliseconds(10));
      if (item->state != State::kQueued || !abandoned()) continue;
      const auto it = std::find(queue_.begin(), queue_.end(), item);
      if (it == queue_.end()) continue;  // taken by the control thread: it runs now
      queue_.erase(it);
      item->state = State::kCancelled;
    }
    return item->state == State::kDone;
  }

  // Tasks waiting for the control thread.
  size_t pending() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }

  // Control thread: runs everything queued so far.
  void run_pending() {
    std::deque<std::shared_ptr<Item>> batch;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    for (auto& item : batch) item->task();
    {
      std::lock_guard lock(mutex_);
      for (auto& item : batch) item->state = State::kDone;
    }
    done_.notify_all();
  }

  // Refuses new calls and releases the waiting ones without running them.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      for (auto& item : queue_) item->state = State::kCancelled;
      queue_.clear();
    }
    done_.notify_all();
  }

 private:
  enum class State { kQueued, kDone, kCancelled };
  struct Item {
    std::function<void()> task;
    State state = State::kQueued;
  };
  std::mutex mutex_;
  std::condition_variable done_;
  std::deque<std::shared_ptr<Item>> queue_;
  bool closed_ = false;
};

}  // namespace meshplane::ctrl
