#include "config/access_parser.h"
#include "ctrl/runtime/access_text.h"
#include "ctrl/runtime/stats.h"

namespace meshplane::ctrl {

void add_access_rules(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.access) return;
  const auto& access = src.access->rules();
  out.set_access_default(config::action_name(access.default_action));
  for (uint32_t i = 0; i < access.rules.size(); ++i) {
    const auto& r = access.rules[i];
    auto* s = out.add_access_rules();
    s->set_name(r.name);
    s->set_action(config::action_name(r.action));
    s->set_line(static_cast<uint32_t>(r.mark.line));
    s->set_match(describe_match(r));
    s->set_log(r.log);
    s->set_hits(src.access->hits(i));
  }
}

}  // namespace meshplane::ctrl
