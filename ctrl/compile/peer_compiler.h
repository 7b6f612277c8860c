// config peers + SA slots -> the snapshot's peers, outbound and inbound SAs
// and the SPI lookup. Keys are prepared here (AES round keys, GHASH tables)
// so workers only use them.
#pragma once

#include "config/model.h"
#include "config/status.h"
#include "ctrl/apply/sa_registry.h"
#include "ctrl/compile/compiled_snapshot.h"

namespace meshplane::ctrl {

// Needs `s`'s routes filled in (a peer's prefixes route into its tunnel).
config::Status compile_peers(const config::Policy& policy, const SaRegistry& sas, CompiledSnapshot& s);

}  // namespace meshplane::ctrl
