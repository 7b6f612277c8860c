// The pattern sets part of the stats message (meshctl get patterns).
#include <fmt/format.h>

#include "config/pattern_parser.h"
#include "config/pattern_validate.h"
#include "ctrl/runtime/stats.h"

namespace meshplane::ctrl {
namespace {

// Who inspects with `set`: services, authorizations and their rules.
std::vector<std::string> users_of(const config::Policy& policy, const std::string& set) {
  std::vector<std::string> out;
  for (const auto& s : policy.services)
    if (s.inspect == set) out.push_back(fmt::format("service '{}'", s.name));
  for (const auto& a : policy.authorization) {
    if (a.inspect == set) out.push_back("authorization of " + a.label());
    for (const auto& r : a.rules)
      if (r.inspect == set) out.push_back(fmt::format("rule '{}' of {}", r.name, a.label()));
  }
  return out;
}

}  // namespace

void add_pattern_sets(const StatsSource& src, v1::GetStatsResponse& out) {
  if (!src.patterns || !src.policy) return;
  const PatternLibrary& lib = *src.patterns;
  if (!src.inspect.empty()) {
    out.set_inspect_capacity_per_worker(src.inspect.front()->capacity());
    out.set_inspect_record_bytes(sizeof(dataplane::InspectFlow));
  }
  for (const auto& set : src.policy->pattern_sets) {
    const uint32_t slot1 = lib.slot1(set.name);
    if (!slot1) continue;
    const CompiledPatternSet& compiled = *lib.sets[slot1 - 1];
    auto* s = out.add_pattern_sets();
    s->set_name(set.name);
    s->set_inspect_bytes(set.inspect_bytes);
    s->set_directions(set.client && set.server ? "both" : set.client ? "client" : "server");
    s->set_out_of_order(set.hold_out_of_order ? "hold" : "stop");
    s->set_on_failure(set.fail_closed ? "block" : "allow");
    for (auto& u : users_of(*src.policy, set.name)) s->add_used_by(std::move(u));
    s->set_database_bytes(compiled.database_bytes);
    s->set_stream_bytes(compiled.stream_bytes);
    auto& counters = *s->mutable_counters();
    for (const auto& c : dataplane::kPatternSetCounters) {
      uint64_t sum = 0;
      for (const auto* st : src.inspect) sum += (st->sets[slot1 - 1].*c.member).get();
      counters[c.name] = sum;
    }
    for (const auto& p : set.patterns) {
      auto* ps = s->add_patterns();
      ps->set_name(p.name);
      ps->set_action(config::pattern_action_name(p.action));
      if (p.action == config::PatternAction::kTag) ps->set_tag(p.tag);
      ps->set_expression(p.expression);
      ps->set_literal(p.literal);
      for (const auto& [on, name] : {std::pair{p.caseless, "caseless"}, {p.dotall, "dotall"},
                                     {p.multiline, "multiline"}, {p.single_match, "single_match"}})
        if (on) ps->add_flags(name);
      ps->set_start_anchored(config::start_anchored(p));
      const auto at = lib.pattern_slots.find(set.name + "/" + p.name);
      uint64_t matches = 0;
      if (at != lib.pattern_slots.end())
        for (const auto* st : src.inspect) matches += st->matches[at->second].get();
      ps->set_matches(matches);
      if (p.action == config::PatternAction::kTag) (*s->mutable_tags())[p.tag] += matches;
    }
  }
}

}  // namespace meshplane::ctrl
