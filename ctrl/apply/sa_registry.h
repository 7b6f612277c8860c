// Stable identities for SAs across policy changes. An SA keeps its slot (its
// sequence number, replay window and counters in every worker) for as long
// as it is listed with the same peer, direction, SPI and key; a changed key
// is a new SA with a fresh slot, so a counter never carries over to another
// key and never restarts under the same one. A slot whose SA left rests
// until the next change before reuse: by then the snapshot that named it is
// retired.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.h"
#include "config/status.h"

namespace meshplane::ctrl {

class SaRegistry {
 public:
  struct Id {
    std::string peer;
    config::SaDirection direction;
    uint32_t spi;
    config::Secret key;
    auto operator<=>(const Id& o) const {
      return std::tie(peer, direction, spi, key.bytes()) <=> std::tie(o.peer, o.direction, o.spi, o.key.bytes());
    }
    bool operator==(const Id& o) const = default;
  };

  explicit SaRegistry(uint32_t max_sas);

  // Brings the slots in line with the peers' SAs. Out of slots (kExhausted),
  // the registry is unchanged. Slots handed out by this call are in fresh()
  // until the next.
  config::Status update(const std::vector<config::Peer>& peers);
  const std::vector<uint32_t>& fresh() const { return fresh_; }

  uint32_t slot(const Id& id) const { return slots_.at(id); }
  uint32_t slot(const config::Peer& p, const config::SecurityAssociation& sa) const {
    return slot(Id{p.name, sa.direction, sa.spi, sa.key});
  }
  const std::map<Id, uint32_t>& slots() const { return slots_; }
  uint32_t max_sas() const { return max_sas_; }

 private:
  uint32_t max_sas_;
  std::map<Id, uint32_t> slots_;
  std::vector<uint32_t> free_;     // usable now
  std::vector<uint32_t> resting_;  // left at the last change: usable from the next
  std::vector<uint32_t> fresh_;
};

}  // namespace meshplane::ctrl
