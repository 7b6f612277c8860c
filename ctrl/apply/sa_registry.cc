#include "ctrl/apply/sa_registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace meshplane::ctrl {

SaRegistry::SaRegistry(uint32_t max_sas) : max_sas_(max_sas) {
  for (uint32_t s = max_sas; s > 0; --s) free_.push_back(s - 1);  // hands out 0, 1, 2... first
}

config::Status SaRegistry::update(const std::vector<config::Peer>& peers) {
  std::set<Id> listed;
  for (const auto& p : peers)
    for (const auto& sa : p.sas) listed.insert(Id{p.name, sa.direction, sa.spi, sa.key});
  size_t needed = 0;
  for (const auto& id : listed) needed += !slots_.count(id);
  // Slots leaving now rest; those that rested since the last change are free again.
  std::vector<uint32_t> leaving;
  for (const auto& [id, slot] : slots_)
    if (!listed.count(id)) leaving.push_back(slot);
  if (free_.size() + resting_.size() < needed)
    return config::Status::failure(config::Status::Code::kExhausted,
                                   fmt::format("{} new SA(s) but only {} SA slot(s) free (ipsec.max_sas {})", needed,
                                               free_.size() + resting_.size(), max_sas_));
  free_.insert(free_.end(), resting_.begin(), resting_.end());
  std::sort(free_.begin(), free_.end(), std::greater<>());
  resting_ = std::move(leaving);
  for (auto it = slots_.begin(); it != slots_.end();) it = listed.count(it->first) ? std::next(it) : slots_.erase(it);
  fresh_.clear();
  for (const auto& id : listed) {
    if (slots_.count(id)) continue;
    slots_.emplace(id, free_.back());
    fresh_.push_back(free_.back());
    free_.pop_back();
  }
  return {};
}

}  // namespace meshplane::ctrl
