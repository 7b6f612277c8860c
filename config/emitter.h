// config::Policy -> YAML text that load_policy_text reads back to the same
// policy (positions aside). The API's GetPolicy and meshctl use it after
// endpoint updates have changed the running policy.
#pragma once

#include <string>

#include "config/model.h"

namespace meshplane::config {

std::string to_yaml(const Policy& policy);

}  // namespace meshplane::config
