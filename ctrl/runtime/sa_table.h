// The state of every SA slot (dataplane::SaState), shared by the workers.
// The control thread sets up slots before the first snapshot that names them
// and keeps each outbound SA's usable sequence numbers ahead of use, reserved
// on disk first (SequenceStore).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <vector>

#include "config/model.h"
#include "config/status.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/runtime/sequence_store.h"
#include "dataplane/ipsec/sa.h"

namespace meshplane::ctrl {

class SaTable {
 public:
  // Numbers reserved at a time; a restart skips at most this many.
  static constexpr uint64_t kReserve = uint64_t{1} << 22;

  // `store` may be null (tests): nothing is recorded, numbers start at 1.
  SaTable(uint32_t max_sas, SequenceStore* store);
  dataplane::SaState* states() { return states_.get(); }
  const dataplane::SaState& state(uint32_t slot) const { return states_[slot]; }
  // Since the SA in `slot` was set up.
  double age_seconds(uint32_t slot) const;

  // Sets up the registry's fresh slots for the SAs of `policy` (replay
  // windows; outbound sequence numbers from above what was reserved before,
  // with a first reservation) and remembers the outbound SAs. Call before
  // publishing the snapshot that names them.
  config::Status prepare(const config::Policy& policy, const SaRegistry& registry);
  // Moves each outbound SA's limit ahead once half of its reservation is used.
  config::Status refresh();

  struct Usage {
    uint64_t packets = 0, bytes = 0;
  };
  struct LifetimeEvent {
    std::string kind;     // sa_soft_lifetime or sa_hard_lifetime
    std::string message;  // peer, direction, SPI and what ran out: never a key
  };
  // Soft lifetimes reached are reported once; at a hard one the SA stops:
  // outbound sends no more (esp_sequence_exhausted), inbound accepts no more
  // (esp_sa_expired). An outbound packet limit is exact (it caps the
  // sequence numbers); seconds and bytes are checked when this is called.
  std::vector<LifetimeEvent> check_lifetimes(const std::function<Usage(uint32_t slot)>& usage);
  // "", "soft" or "hard": the lifetime the SA in `slot` has reached.
  const char* lifetime_state(uint32_t slot) const;

 private:
  struct Outbound {
    uint32_t slot;
    uint32_t spi;
    config::Secret key;
    bool esn;
    uint64_t last_allowed;  // the hard packet lifetime's last number, or the counter's end
    bool persisted;         // numbers reserved on disk first (manual keys); IKE's keys need not
  };
  struct Tracked {
    uint32_t slot;
    std::string name;  // "peer 'X' outbound SPI 0x..."
    bool outbound;
    config::SaLifetime soft, hard;
  };
  config::Status extend(const Outbound& o, uint64_t from);

  std::unique_ptr<dataplane::SaState[]> states_;
  std::vector<std::chrono::steady_clock::time_point> installed_;  // by slot
  uint32_t max_sas_;
  SequenceStore* store_;
  std::vector<Outbound> outbound_;
  std::vector<uint64_t> first_seq_;       // by slot: the outbound SA's number before its first packet
  std::vector<Tracked> tracked_;          // every SA with a lifetime
  std::vector<uint8_t> lifetime_reached_;  // by slot: 0, 1 soft, 2 hard
};

}  // namespace meshplane::ctrl
