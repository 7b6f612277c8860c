// Publication of snapshots to running workers with QSBR (DPDK lib/rcu): the
// control thread swaps the pointer with one atomic store, waits until every
// online worker has reported a quiescent state since, then frees the old one.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "dataplane/tables/snapshot.h"

struct rte_rcu_qsbr;

namespace meshplane::dataplane {

class SnapshotSlot {
 public:
  explicit SnapshotSlot(uint32_t max_workers);
  ~SnapshotSlot();
  SnapshotSlot(const SnapshotSlot&) = delete;
  SnapshotSlot& operator=(const SnapshotSlot&) = delete;

  // Worker side: read at the top of an iteration; do not keep across quiescent().
  const Snapshot* current() const { return current_.load(std::memory_order_acquire); }
  void worker_online(uint32_t worker_id);
  void worker_offline(uint32_t worker_id);
  void quiescent(uint32_t worker_id);

  // Control side: returns after the previous snapshot has been freed.
  void publish(std::unique_ptr<Snapshot> next);
  // Control side: returns once every online worker has reported a quiescent
  // state since the call began (what it read before then, it no longer uses).
  void synchronize();
  uint64_t retired() const { return retired_; }

 private:
  std::atomic<const Snapshot*> current_{nullptr};
  rte_rcu_qsbr* qsbr_ = nullptr;
  uint64_t retired_ = 0;
};

}  // namespace meshplane::dataplane
