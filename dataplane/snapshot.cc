#include "dataplane/snapshot.h"

#include <rte_lpm.h>

namespace meshplane::dataplane {

Snapshot::~Snapshot() {
  if (routes) rte_lpm_free(routes);
}

}  // namespace meshplane::dataplane
