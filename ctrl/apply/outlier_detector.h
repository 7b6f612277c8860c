// Passive outlier detection (Envoy's consecutive gateway failures): the
// workers count, without locks, each endpoint's failed connection attempts
// (a RST to the SYN, a SYN never answered) and answered ones; the control
// thread reads the sums every tick and ejects an endpoint whose failures ran
// `consecutive_failures` in a row with no answer between (an answer in the
// same tick counts as between), for base_ejection_ms times its number of
// ejections, with at most max_ejection_percent of the service's endpoints
// out at once (always one). When its time is over it returns; failures
// again eject it for longer. Decisions are what PolicyManager::set_ejected takes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.h"

namespace meshplane::ctrl {

class OutlierDetector {
 public:
  using Clock = std::chrono::steady_clock;
  struct Sample {
    std::string service;
    uint32_t address;  // host order
    uint16_t port;
    uint64_t failures, answers;  // sums over the workers since the endpoint's counters began
  };
  struct Decision {
    std::string service;
    uint32_t address;
    uint16_t port;
    bool eject;       // false: its ejection is over
    std::string why;
  };

  // The endpoints of `policy`'s services with outlier_detection, as counted now.
  std::vector<Decision> update(const config::Policy& policy, const std::vector<Sample>& samples, Clock::time_point now);

 private:
  struct State {
    uint64_t failures = 0, answers = 0;
    uint32_t run = 0;        // failures since the last answer
    uint32_t ejections = 0;
    bool ejected = false;
    Clock::time_point until{};
  };
  std::map<std::tuple<std::string, uint32_t, uint16_t>, State> states_;
};

}  // namespace meshplane::ctrl
