#include "ctrl/apply/outlier_detector.h"

#include <fmt/format.h>

#include <algorithm>

namespace meshplane::ctrl {

std::vector<OutlierDetector::Decision> OutlierDetector::update(const config::Policy& policy,
                                                               const std::vector<Sample>& samples,
                                                               Clock::time_point now) {
  std::vector<Decision> out;
  std::map<std::tuple<std::string, uint32_t, uint16_t>, State> next;
  for (const auto& s : samples) {
    const auto svc = std::find_if(policy.services.begin(), policy.services.end(),
                                  [&](const config::Service& x) { return x.name == s.service; });
    if (svc == policy.services.end() || !svc->outlier_detection) continue;
    const auto key = std::tuple{s.service, s.address, s.port};
    const auto old = states_.find(key);
    State st = old != states_.end() ? old->second : State{s.failures, s.answers};
    if (s.answers != st.answers)
      st.run = 0;  // answered: the run of failures is broken
    else
      st.run += static_cast<uint32_t>(s.failures - st.failures);
    st.failures = s.failures;
    st.answers = s.answers;
    if (st.ejected && now >= st.until) {
      st.ejected = false;
      st.run = 0;
      out.push_back({s.service, s.address, s.port, false, "its ejection is over"});
    }
    next[key] = st;
  }
  // Ejections, within each service's share.
  for (auto& [key, st] : next) {
    const auto& [service, address, port] = key;
    const auto& svc = *std::find_if(policy.services.begin(), policy.services.end(),
                                    [&](const config::Service& x) { return x.name == service; });
    const config::OutlierDetection& od = *svc.outlier_detection;
    if (st.ejected || st.run < od.consecutive_failures) continue;
    const size_t out_now = std::count_if(next.begin(), next.end(), [&](const auto& e) {
      return std::get<0>(e.first) == service && e.second.ejected;
    });
    const size_t allowed = std::max<size_t>(1, svc.endpoints.size() * od.max_ejection_percent / 100);
    if (out_now >= allowed) continue;
    st.ejected = true;
    ++st.ejections;
    const auto length = std::chrono::milliseconds(uint64_t{od.base_ejection_ms} * st.ejections);
    st.until = now + length;
    out.push_back({service, address, port, true,
                   fmt::format("{} connection attempts failed in a row: ejected for {:.1f} s (ejection {})", st.run,
                               std::chrono::duration<double>(length).count(), st.ejections)});
    st.run = 0;
  }
  states_ = std::move(next);
  return out;
}

}  // namespace meshplane::ctrl
