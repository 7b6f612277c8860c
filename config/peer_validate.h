// Semantic checks on peers and their SAs (called by validate()).
#pragma once

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

void validate_peers(const Policy& policy, Diagnostics& d);

// Key and salt bytes the algorithm needs (RFC 4106 section 8.1).
inline size_t key_material_length(EspAlgorithm a) { return a == EspAlgorithm::kAesGcm128 ? 20 : 36; }

}  // namespace meshplane::config
