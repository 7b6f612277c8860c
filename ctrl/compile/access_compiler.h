// Access rules -> an rte_acl classifier, built on the control thread (never
// on a worker) and shared by every snapshot with the same rules and ports.
// A rule with lists becomes one classifier entry per combination; all of a
// rule's entries answer the rule's index + 1 and carry its priority (earlier
// rules win).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/status.h"
#include "dataplane/tables/access_view.h"

namespace meshplane::ctrl {

class AccessTable {
 public:
  // `workers`: rows of hit counters (worker ids below it). `previous`: a
  // table whose hits carry over to rules with the same name and definition.
  static std::shared_ptr<AccessTable> build(const config::AccessPolicy& access, const std::vector<config::Port>& ports,
                                            uint32_t workers, const AccessTable* previous, config::Status& status);
  ~AccessTable();
  AccessTable(const AccessTable&) = delete;
  AccessTable& operator=(const AccessTable&) = delete;

  // Built from exactly these rules and port names?
  bool same_input(const config::AccessPolicy& access, const std::vector<config::Port>& ports) const;
  // What workers read.
  dataplane::AccessView view() const;
  // Matches since the rule was added (or last changed), over all workers.
  uint64_t hits(uint32_t rule) const;
  // The first rule `key` matches, or -1: what a worker decides, asked from the control thread.
  int32_t classify(const dataplane::AccessKey& key) const;
  const config::AccessPolicy& rules() const { return access_; }
  double build_seconds() const { return build_seconds_; }
  size_t entries() const { return entries_; }
  uint32_t id() const { return id_; }  // unique in this process
  size_t memory_bytes() const { return memory_; }  // the classifier's, in the DPDK heap

 private:
  AccessTable() = default;

  config::AccessPolicy access_;
  std::vector<std::string> port_names_;
  rte_acl_ctx* ctx_ = nullptr;
  std::vector<dataplane::AccessRuleView> views_;
  std::unique_ptr<dataplane::Counter[]> hit_storage_;
  dataplane::Counter* hits_ = nullptr;  // cache-line aligned inside hit_storage_
  uint32_t stride_ = 0, workers_ = 0;
  std::vector<uint64_t> carried_;  // hits of the same rule in the table this one replaced
  uint32_t id_ = 0;
  size_t entries_ = 0;
  size_t memory_ = 0;
  double build_seconds_ = 0;
};

}  // namespace meshplane::ctrl
