#include "ctrl/compile/maglev_builder.h"

#include <algorithm>
#include <numeric>

#include "common/numbers.h"

namespace meshplane::ctrl {
namespace {

// FNV-1a, then a 64-bit finaliser (splitmix64): stable across builds,
// platforms and processes, which Maglev's consistency across gateways needs.
uint64_t stable_hash(const std::string& s, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

}  // namespace

MaglevTable build_maglev(const std::vector<MaglevEndpoint>& endpoints, uint32_t size) {
  MaglevTable table;
  const bool any_weight = std::any_of(endpoints.begin(), endpoints.end(), [](auto& e) { return e.weight > 0; });
  if (!is_prime(size) || size >= (1u << 31) || endpoints.size() >= size || !any_weight) return table;

  // Fill in key order so the table does not depend on the order endpoints were listed in.
  std::vector<uint32_t> order(endpoints.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return endpoints[a].key < endpoints[b].key; });

  // `position` walks the endpoint's permutation (offset + j * skip) mod size,
  // one addition per step instead of a division.
  struct Permutation {
    uint32_t endpoint, position, skip, weight;
  };
  std::vector<Permutation> perms;
  for (uint32_t i : order) {
    if (endpoints[i].weight == 0) continue;
    const uint32_t offset = static_cast<uint32_t>(stable_hash(endpoints[i].key, 0x4d61676c) % size);
    const uint32_t skip = static_cast<uint32_t>(stable_hash(endpoints[i].key, 0x65760001) % (size - 1)) + 1;
    perms.push_back({i, offset, skip, endpoints[i].weight});
  }

  constexpr uint32_t kEmpty = ~uint32_t{0};
  table.size = size;
  table.slots.assign(size, kEmpty);
  uint32_t filled = 0;
  // Each round an endpoint claims as many slots as its weight, each the next
  // free slot of its own permutation (offset + j * skip) mod size.
  while (filled < size) {
    for (auto& p : perms) {
      for (uint32_t w = 0; w < p.weight && filled < size; ++w) {
        uint32_t slot;
        do {
          slot = p.position;
          p.position += p.skip;  // both < size < 2^31, so no overflow
          if (p.position >= size) p.position -= size;
        } while (table.slots[slot] != kEmpty);
        table.slots[slot] = p.endpoint;
        ++filled;
      }
      if (filled == size) break;
    }
  }
  return table;
}

}  // namespace meshplane::ctrl
