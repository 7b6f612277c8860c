#include "dataplane/inspect/segment_orderer.h"

#include <algorithm>
#include <cstring>

namespace meshplane::dataplane {
namespace {

// RFC 793 comparisons on 32-bit sequence numbers.
int32_t distance(uint32_t from, uint32_t to) { return static_cast<int32_t>(to - from); }

}  // namespace

bool SegmentOrderer::give(uint32_t seq, const uint8_t* data, uint32_t length, Sink sink, void* ctx) {
  const int32_t behind = distance(seq, next_);  // bytes of this segment already given
  if (behind < 0 || static_cast<uint32_t>(behind) >= length) return left_ > 0;  // not at next_, or nothing new
  const uint32_t fresh = std::min(length - static_cast<uint32_t>(behind), left_);
  sink(ctx, Piece{data + behind, fresh});
  next_ += fresh;
  left_ -= fresh;
  return left_ > 0;
}

void SegmentOrderer::hold(uint32_t seq, const uint8_t* data, uint32_t length) {
  // Only what could still be inspected is worth holding.
  const uint32_t ahead = static_cast<uint32_t>(distance(next_, seq));
  if (ahead >= left_) return;
  length = std::min(length, left_ - ahead);
  for (uint32_t i = 0; i < held_count_; ++i)
    if (held_[i].seq == seq && held_[i].length >= length) return;  // the same segment again
  if (held_count_ == kMaxHeldSegments || held_bytes_ + length > kMaxHeldBytes) {
    state_ = State::kGap;
    return;
  }
  std::memcpy(bytes_.data() + held_bytes_, data, length);
  held_[held_count_++] = {seq, held_bytes_, length};
  held_bytes_ += length;
}

// Gives every held segment that the stream has reached, until none is.
void SegmentOrderer::release(Sink sink, void* ctx) {
  for (bool progressed = true; progressed && held_count_ && state_ == State::kInspecting;) {
    progressed = false;
    for (uint32_t i = 0; i < held_count_; ++i) {
      const Held h = held_[i];
      if (distance(h.seq, next_) < 0) continue;  // still beyond a hole
      if (!give(h.seq, bytes_.data() + h.offset, h.length, sink, ctx)) state_ = State::kDone;
      held_[i] = held_[--held_count_];
      progressed = true;
      break;
    }
  }
  if (held_count_ == 0) held_bytes_ = 0;  // the buffer is reused from its start
}

SegmentOrderer::State SegmentOrderer::add(uint32_t seq, const uint8_t* data, uint32_t length, Sink sink, void* ctx) {
  if (state_ != State::kInspecting || length == 0) return state_;
  if (distance(next_, seq) > 0) {
    hold(seq, data, length);
    return state_;
  }
  if (!give(seq, data, length, sink, ctx)) {
    state_ = State::kDone;
    return state_;
  }
  release(sink, ctx);
  return state_;
}

}  // namespace meshplane::dataplane
