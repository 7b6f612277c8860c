// In-order bytes of one direction of a TCP connection, for payload
// inspection (the Hyperscan stage of issue 14 feeds its stream scanner
// with them): a segment's bytes already passed (a retransmission, or the
// overlap of one) are not given twice; a segment beyond the next expected
// byte is held, up to a bounded number of segments and bytes, and given out
// once the hole before it is filled; when the hold is full, the gap is
// reported and the direction stops being inspected (the caller applies its
// fail-open or fail-closed policy). Only the first `depth` bytes are given.
// Sequence numbers wrap (RFC 793 arithmetic). No allocation after
// construction; one orderer per inspected direction, owned by one worker.
#pragma once

#include <array>
#include <cstdint>

namespace meshplane::dataplane {

class SegmentOrderer {
 public:
  static constexpr uint32_t kMaxHeldSegments = 4;
  static constexpr uint32_t kMaxHeldBytes = 4096;

  enum class State : uint8_t {
    kInspecting,
    kDone,  // `depth` bytes were given: nothing more to inspect
    kGap,   // a hole that the hold could not bridge: inspection stopped
  };

  // Bytes to inspect, in order; `data` points into the caller's segment or into the hold.
  struct Piece {
    const uint8_t* data;
    uint32_t length;
  };
  // Called for each piece, in stream order.
  using Sink = void (*)(void* ctx, Piece piece);

  // The direction's first payload byte has sequence number `first`.
  SegmentOrderer(uint32_t first, uint32_t depth) : next_(first), left_(depth) {}
  SegmentOrderer() = default;  // inspects nothing until reset
  // Starts afresh (a pooled orderer taken for another connection).
  void reset(uint32_t first, uint32_t depth) {
    next_ = first;
    left_ = depth;
    state_ = depth ? State::kInspecting : State::kDone;
    held_count_ = held_bytes_ = 0;
  }

  // A segment's payload (`seq`: its first byte's sequence number): gives the
  // sink every byte that is now in order and new, held bytes included.
  State add(uint32_t seq, const uint8_t* data, uint32_t length, Sink sink, void* ctx);

  State state() const { return state_; }
  uint32_t next() const { return next_; }        // sequence number of the next byte wanted
  uint32_t held_segments() const { return held_count_; }

 private:
  struct Held {
    uint32_t seq;
    uint32_t offset;  // into bytes_
    uint32_t length;
  };
  // Gives [seq, seq + length) from the part at or after next_; false once done.
  bool give(uint32_t seq, const uint8_t* data, uint32_t length, Sink sink, void* ctx);
  void hold(uint32_t seq, const uint8_t* data, uint32_t length);
  void release(Sink sink, void* ctx);

  uint32_t next_ = 0;
  uint32_t left_ = 0;  // bytes still to inspect
  State state_ = State::kInspecting;
  uint32_t held_count_ = 0;
  uint32_t held_bytes_ = 0;
  std::array<Held, kMaxHeldSegments> held_{};
  std::array<uint8_t, kMaxHeldBytes> bytes_{};
};

}  // namespace meshplane::dataplane
