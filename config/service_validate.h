// Semantic checks on services and load-balancer settings (called by validate()).
#pragma once

#include <cstdint>

#include "config/diagnostic.h"
#include "config/model.h"

namespace meshplane::config {

void validate_services(const Policy& policy, Diagnostics& d);

}  // namespace meshplane::config
