// config services + slots -> the snapshot's LbView: endpoints resolved to
// their egress port, one Maglev table per subset, the VIP lookups.
#pragma once

#include <string>

#include "config/model.h"
#include "ctrl/lb_registry.h"
#include "dataplane/snapshot.h"

namespace meshplane::ctrl {

// Needs `s`'s ports and routes filled in; reuses `previous`'s unchanged
// Maglev tables. Returns an error message, or empty.
std::string compile_lb(const config::Policy& policy, const LbRegistry& registry, dataplane::Snapshot& s,
                       const dataplane::Snapshot* previous = nullptr);

}  // namespace meshplane::ctrl
