#include "ctrl/compile/pattern_compiler.h"

#include <fmt/format.h>
#include <hs/hs.h>

#include <atomic>

#include "config/pattern_validate.h"

namespace meshplane::ctrl {
namespace {

std::atomic<uint32_t> next_database_id{1};

config::Status invalid(const config::Policy& policy, config::Mark mark, std::string message) {
  return config::Status::invalid({{policy.source, mark, std::move(message)}});
}

// One set's database, or why not.
config::Status compile_set(const config::Policy& policy, const config::PatternSet& set,
                           std::shared_ptr<const CompiledPatternSet>& out) {
  std::vector<std::string> expressions;
  std::vector<const char*> pointers;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < set.patterns.size(); ++i) {
    expressions.push_back(config::hyperscan_expression(set.patterns[i]));
    flags.push_back(config::hyperscan_flags(set.patterns[i]));
    ids.push_back(static_cast<unsigned>(i));
  }
  for (const auto& e : expressions) pointers.push_back(e.c_str());
  auto compiled = std::make_shared<CompiledPatternSet>();
  hs_compile_error_t* error = nullptr;
  if (hs_compile_multi(pointers.data(), flags.data(), ids.data(), static_cast<unsigned>(pointers.size()),
                       HS_MODE_STREAM, nullptr, &compiled->db, &error) != HS_SUCCESS) {
    const std::string reason = error ? error->message : "unknown error";
    const int at = error ? error->expression : -1;
    hs_free_compile_error(error);
    if (at >= 0 && static_cast<size_t>(at) < set.patterns.size())
      return invalid(policy, set.patterns[at].expression_mark,
                     fmt::format("pattern '{}' of set '{}': Hyperscan refuses it: {}", set.patterns[at].name,
                                 set.name, reason));
    return invalid(policy, set.mark, fmt::format("pattern set '{}': Hyperscan cannot compile it: {}", set.name, reason));
  }
  hs_stream_size(compiled->db, &compiled->stream_bytes);
  hs_database_size(compiled->db, &compiled->database_bytes);
  if (compiled->stream_bytes > kStreamStateBytes)
    return invalid(policy, set.mark, fmt::format("pattern set '{}' needs {} bytes of stream state per direction; "
                                                 "workers keep {}: split it into smaller sets",
                                                 set.name, compiled->stream_bytes, kStreamStateBytes));
  compiled->definition = set;
  compiled->id = next_database_id++;
  out = std::move(compiled);
  return {};
}

uint32_t take_slot(std::map<std::string, uint32_t>& slots, const std::string& name) {
  const auto [at, added] = slots.emplace(name, static_cast<uint32_t>(slots.size()));
  return at->second;
}

}  // namespace

CompiledPatternSet::~CompiledPatternSet() { hs_free_database(db); }

PatternLibrary::~PatternLibrary() {
  for (hs_scratch_t* s : scratch) hs_free_scratch(s);
}

uint32_t PatternLibrary::slot1(const std::string& name) const {
  const auto at = set_slots.find(name);
  return at != set_slots.end() && at->second < sets.size() && sets[at->second] ? at->second + 1 : 0;
}

void PatternCache::prepare(const config::Policy& policy) {
  for (const auto& set : policy.pattern_sets) {
    if (find(set)) continue;
    std::shared_ptr<const CompiledPatternSet> compiled;
    if (!compile_set(policy, set, compiled).ok()) continue;  // the control thread reports it
    std::lock_guard lock(mutex_);
    sets_.push_back(std::move(compiled));
    if (sets_.size() > 2 * kMaxPatternSets) sets_.pop_front();
  }
}

std::shared_ptr<const CompiledPatternSet> PatternCache::find(const config::PatternSet& set) const {
  std::lock_guard lock(mutex_);
  for (auto it = sets_.rbegin(); it != sets_.rend(); ++it)
    if ((*it)->definition == set) return *it;
  return nullptr;
}

config::Status compile_patterns(const config::Policy& policy, const PatternLibrary* previous, unsigned workers,
                                std::shared_ptr<const PatternLibrary>& out, const PatternCache* cache) {
  auto lib = std::make_shared<PatternLibrary>();
  lib->events_per_second = policy.inspection.events_per_second;
  if (previous) {
    lib->set_slots = previous->set_slots;
    lib->pattern_slots = previous->pattern_slots;
    lib->pattern_names = previous->pattern_names;
  }
  for (const auto& set : policy.pattern_sets) {
    const uint32_t slot = take_slot(lib->set_slots, set.name);
    if (slot >= kMaxPatternSets)
      return invalid(policy, set.mark, fmt::format("pattern set '{}': this process has had {} pattern set names "
                                                   "(their counters keep their slots); restart to reclaim them",
                                                   set.name, kMaxPatternSets));
    for (const auto& p : set.patterns) {
      const std::string name = set.name + "/" + p.name;
      const uint32_t counter = take_slot(lib->pattern_slots, name);
      if (counter >= kMaxPatterns)
        return invalid(policy, p.mark, fmt::format("pattern '{}': this process has had {} pattern names; restart "
                                                   "to reclaim them",
                                                   name, kMaxPatterns));
      if (lib->pattern_names.size() <= counter) lib->pattern_names.resize(counter + 1);
      lib->pattern_names[counter] = name;
    }
    if (lib->sets.size() <= slot) lib->sets.resize(slot + 1);
    const bool unchanged = previous && slot < previous->sets.size() && previous->sets[slot] &&
                           previous->sets[slot]->definition == set;
    if (unchanged) {
      lib->sets[slot] = previous->sets[slot];
    } else if (auto cached = cache ? cache->find(set) : nullptr) {
      lib->sets[slot] = std::move(cached);
    } else if (auto status = compile_set(policy, set, lib->sets[slot]); !status.ok()) {
      return status;
    }
  }
  // One scratch big enough for every database, cloned for each worker.
  hs_scratch_t* prototype = nullptr;
  for (const auto& set : lib->sets)
    if (set && hs_alloc_scratch(set->db, &prototype) != HS_SUCCESS)
      return config::Status::failure(config::Status::Code::kExhausted, "cannot allocate Hyperscan scratch");
  if (prototype) {
    for (unsigned w = 0; w < workers; ++w) {
      hs_scratch_t* clone = nullptr;
      if (hs_clone_scratch(prototype, &clone) != HS_SUCCESS) {
        hs_free_scratch(prototype);
        return config::Status::failure(config::Status::Code::kExhausted, "cannot allocate Hyperscan scratch");
      }
      lib->scratch.push_back(clone);
    }
    hs_free_scratch(prototype);
  }
  out = std::move(lib);
  return {};
}

}  // namespace meshplane::ctrl
