#include "dataplane/tables/snapshot.h"

#include <rte_lpm.h>

namespace meshplane::dataplane {

int32_t Snapshot::route(uint32_t address) const {
  uint32_t nh = 0;
  return rte_lpm_lookup(routes, address, &nh) == 0 ? static_cast<int32_t>(nh) : default_route;
}

Snapshot::~Snapshot() = default;

}  // namespace meshplane::dataplane
