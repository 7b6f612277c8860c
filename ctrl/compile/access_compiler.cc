#include "ctrl/compile/access_compiler.h"

#include <fmt/format.h>
#include <rte_acl.h>
#include <rte_byteorder.h>
#include <rte_malloc.h>

#include <atomic>
#include <chrono>
#include <string_view>
#include <unordered_map>

#include "config/address.h"

namespace meshplane::ctrl {
namespace {

using dataplane::AccessKey;

enum Field { kProtocol, kSource, kDestination, kSourcePort, kDestinationPort, kPort, kFieldCount };
RTE_ACL_RULE_DEF(AccessAclRule, kFieldCount);

// The classifier's view of AccessKey (dataplane/tables/access_view.h).
rte_acl_config classifier_config() {
  rte_acl_config c{};
  c.num_categories = 1;
  c.num_fields = kFieldCount;
  auto def = [&](Field f, uint8_t type, uint8_t size, uint8_t input, size_t offset) {
    c.defs[f] = {type, size, static_cast<uint8_t>(f), input, static_cast<uint32_t>(offset)};
  };
  def(kProtocol, RTE_ACL_FIELD_TYPE_BITMASK, 1, 0, offsetof(AccessKey, protocol));
  def(kSource, RTE_ACL_FIELD_TYPE_MASK, 4, 1, offsetof(AccessKey, source));
  def(kDestination, RTE_ACL_FIELD_TYPE_MASK, 4, 2, offsetof(AccessKey, destination));
  def(kSourcePort, RTE_ACL_FIELD_TYPE_RANGE, 2, 3, offsetof(AccessKey, source_port));
  def(kDestinationPort, RTE_ACL_FIELD_TYPE_RANGE, 2, 3, offsetof(AccessKey, destination_port));
  def(kPort, RTE_ACL_FIELD_TYPE_BITMASK, 4, 4, offsetof(AccessKey, port));
  return c;
}

uint64_t heap_in_use() {
  uint64_t total = 0;
  for (unsigned i = 0; i < rte_socket_count(); ++i) {
    rte_malloc_socket_stats st{};
    if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) == 0) total += st.heap_allocsz_bytes;
  }
  return total;
}

// Every combination of a rule's list items, as classifier entries.
void add_entries(const config::AccessRule& r, uint32_t index, int32_t port, std::vector<AccessAclRule>& out) {
  static const config::Ipv4Prefix kAnyPrefix{0, 0};
  static const config::PortRange kAnyPorts{};
  auto or_any = [](const auto& list, const auto& any) {
    return list.empty() ? std::vector<std::decay_t<decltype(any)>>{any} : list;
  };
  // ICMP type: where the classifier sees it (AccessKey::source_port).
  const std::vector<config::PortRange> source_ports =
      r.icmp_type ? std::vector<config::PortRange>{{*r.icmp_type, *r.icmp_type}} : or_any(r.source_ports, kAnyPorts);
  for (const auto& src : or_any(r.sources, kAnyPrefix))
    for (const auto& dst : or_any(r.destinations, kAnyPrefix))
      for (const auto& sp : source_ports)
        for (const auto& dp : or_any(r.destination_ports, kAnyPorts)) {
          AccessAclRule e{};
          e.data.category_mask = 1;
          e.data.priority = RTE_ACL_MAX_PRIORITY - static_cast<int32_t>(index);
          e.data.userdata = index + 1;
          e.field[kProtocol].value.u8 = r.protocol.value_or(0);
          e.field[kProtocol].mask_range.u8 = r.protocol ? 0xff : 0;
          e.field[kSource].value.u32 = src.address & config::prefix_mask(src.length);
          e.field[kSource].mask_range.u32 = src.length;
          e.field[kDestination].value.u32 = dst.address & config::prefix_mask(dst.length);
          e.field[kDestination].mask_range.u32 = dst.length;
          e.field[kSourcePort].value.u16 = sp.first;
          e.field[kSourcePort].mask_range.u16 = sp.last;
          e.field[kDestinationPort].value.u16 = dp.first;
          e.field[kDestinationPort].mask_range.u16 = dp.last;
          e.field[kPort].value.u32 = port < 0 ? 0 : static_cast<uint32_t>(port);
          e.field[kPort].mask_range.u32 = port < 0 ? 0 : ~uint32_t{0};
          out.push_back(e);
        }
}

}  // namespace

std::shared_ptr<AccessTable> AccessTable::build(const config::AccessPolicy& access,
                                                const std::vector<config::Port>& ports, uint32_t workers,
                                                const AccessTable* previous, config::Status& status) {
  const auto started = std::chrono::steady_clock::now();
  static std::atomic<uint32_t> serial{0};
  std::shared_ptr<AccessTable> t(new AccessTable);
  t->id_ = ++serial;
  t->access_ = access;
  for (const auto& p : ports) t->port_names_.push_back(p.name);
  t->workers_ = std::max<uint32_t>(workers, 1);
  const auto count = static_cast<uint32_t>(access.rules.size());
  t->stride_ = (count + 7) & ~7u;  // a worker's row starts on its own cache line
  t->hit_storage_ = std::make_unique<dataplane::Counter[]>(size_t{t->stride_} * t->workers_ + 8);
  auto addr = reinterpret_cast<uintptr_t>(t->hit_storage_.get());
  t->hits_ = t->hit_storage_.get() + ((64 - addr % 64) % 64) / sizeof(dataplane::Counter);
  t->carried_.assign(count, 0);
  std::unordered_map<std::string_view, uint32_t> old_by_name;  // names are unique (validated)
  if (previous)
    for (uint32_t j = 0; j < previous->access_.rules.size(); ++j) old_by_name.emplace(previous->access_.rules[j].name, j);
  for (uint32_t i = 0; i < count; ++i) {
    const auto& r = access.rules[i];
    t->views_.push_back({static_cast<dataplane::AccessVerdict>(r.action), r.log});
    if (const auto old = old_by_name.find(r.name); old != old_by_name.end() && previous->access_.rules[old->second] == r)
      t->carried_[i] = previous->hits(old->second);
  }
  if (count == 0) return t;

  std::vector<AccessAclRule> entries;
  for (uint32_t i = 0; i < count; ++i) {
    int32_t port = -1;
    for (size_t p = 0; p < ports.size(); ++p)
      if (ports[p].name == access.rules[i].ingress) port = static_cast<int32_t>(p);
    add_entries(access.rules[i], i, port, entries);
  }
  t->entries_ = entries.size();
  const std::string name = fmt::format("access{}", t->id_);
  rte_acl_param param{};
  param.name = name.c_str();
  param.socket_id = SOCKET_ID_ANY;
  param.rule_size = RTE_ACL_RULE_SZ(kFieldCount);
  param.max_rule_num = static_cast<uint32_t>(entries.size());
  const uint64_t heap_before = heap_in_use();
  t->ctx_ = rte_acl_create(&param);
  if (!t->ctx_) {
    status = config::Status::failure(config::Status::Code::kExhausted, "cannot create the access classifier");
    return nullptr;
  }
  int rc = rte_acl_add_rules(t->ctx_, reinterpret_cast<const rte_acl_rule*>(entries.data()),
                             static_cast<uint32_t>(entries.size()));
  const rte_acl_config cfg = classifier_config();
  if (rc == 0) rc = rte_acl_build(t->ctx_, &cfg);
  if (rc != 0) {
    status = config::Status::failure(config::Status::Code::kExhausted,
                                     fmt::format("cannot build the access classifier ({} entries): {}", entries.size(),
                                                 rte_strerror(-rc)));
    return nullptr;
  }
  rte_acl_reset_rules(t->ctx_);  // the built tries stay; the rule copies are not needed any more
  t->memory_ = heap_in_use() - heap_before;
  t->build_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return t;
}

AccessTable::~AccessTable() { rte_acl_free(ctx_); }

bool AccessTable::same_input(const config::AccessPolicy& access, const std::vector<config::Port>& ports) const {
  if (!(access == access_) || ports.size() != port_names_.size()) return false;
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i].name != port_names_[i]) return false;
  // Marks compare equal: a rule moved down the file is the same rule, but its line is shown.
  for (size_t i = 0; i < access.rules.size(); ++i)
    if (access.rules[i].mark.line != access_.rules[i].mark.line) return false;
  return true;
}

dataplane::AccessView AccessTable::view() const {
  dataplane::AccessView v;
  v.classifier = ctx_;
  v.rules = views_.data();
  v.hits = hits_;
  v.hit_stride = stride_;
  v.rule_count = static_cast<uint32_t>(views_.size());
  v.log_per_second = access_.log_per_second;
  v.table = id_;
  v.default_verdict = static_cast<dataplane::AccessVerdict>(access_.default_action);
  return v;
}

uint64_t AccessTable::hits(uint32_t rule) const {
  uint64_t total = carried_[rule];
  for (uint32_t w = 0; w < workers_; ++w) total += hits_[size_t{w} * stride_ + rule].get();
  return total;
}

int32_t AccessTable::classify(const AccessKey& key) const {
  if (!ctx_) return -1;
  const auto* data = reinterpret_cast<const uint8_t*>(&key);
  uint32_t result = 0;
  rte_acl_classify(ctx_, &data, &result, 1, 1);
  return static_cast<int32_t>(result) - 1;
}

}  // namespace meshplane::ctrl
