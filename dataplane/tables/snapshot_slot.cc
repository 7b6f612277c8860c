#include "dataplane/tables/snapshot_slot.h"

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include <stdexcept>

namespace meshplane::dataplane {

SnapshotSlot::SnapshotSlot(uint32_t max_workers) {
  const size_t size = rte_rcu_qsbr_get_memsize(max_workers);
  qsbr_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("snapshot_qsbr", size, RTE_CACHE_LINE_SIZE));
  if (!qsbr_ || rte_rcu_qsbr_init(qsbr_, max_workers) != 0)
    throw std::runtime_error("cannot allocate the RCU state for snapshots");
}

SnapshotSlot::~SnapshotSlot() {
  delete current_.load();
  rte_free(qsbr_);
}

void SnapshotSlot::worker_online(uint32_t worker_id) {
  rte_rcu_qsbr_thread_register(qsbr_, worker_id);
  rte_rcu_qsbr_thread_online(qsbr_, worker_id);
}

void SnapshotSlot::worker_offline(uint32_t worker_id) {
  rte_rcu_qsbr_thread_offline(qsbr_, worker_id);
  rte_rcu_qsbr_thread_unregister(qsbr_, worker_id);
}

void SnapshotSlot::quiescent(uint32_t worker_id) { rte_rcu_qsbr_quiescent(qsbr_, worker_id); }

void SnapshotSlot::publish(std::unique_ptr<Snapshot> next) {
  const Snapshot* old = current_.exchange(next.release(), std::memory_order_acq_rel);
  if (!old) return;
  synchronize();
  delete old;
  ++retired_;
}

// Workers poll in microseconds, so a blocking wait on the control thread is short.
void SnapshotSlot::synchronize() {
  const uint64_t token = rte_rcu_qsbr_start(qsbr_);
  rte_rcu_qsbr_check(qsbr_, token, true);
}

}  // namespace meshplane::dataplane
