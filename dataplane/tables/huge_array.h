// A fixed-size array for big per-worker tables (flow records, their index),
// mapped so the kernel can back it with 2 MiB transparent huge pages: random
// lookups over hundreds of MiB then miss the TLB far less often (in a VM each
// TLB miss is a two-dimensional page walk). Allocated once, on the control
// side; elements are value-initialised.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace meshplane::dataplane {

template <typename T>
class HugeArray {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  static constexpr size_t kHugePage = size_t{2} << 20;

  // For a T whose value-initialised state is all zero bytes: the fresh
  // mapping already is an array of them, so no page is touched (committed)
  // until an element is first used.
  struct ZeroPages {};

  HugeArray() = default;
  explicit HugeArray(size_t n) : HugeArray(n, ZeroPages{}) {
    for (size_t i = 0; i < n; ++i) new (&data_[i]) T();
  }
  HugeArray(size_t n, ZeroPages) : n_(n) {
    if (n == 0) return;
    // 2 MiB aligned: map a huge page more and trim the ends.
    const size_t bytes = (n * sizeof(T) + kHugePage - 1) & ~(kHugePage - 1);
    void* raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = (base + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > base) munmap(raw, aligned - base);
    if (const uintptr_t end = base + bytes + kHugePage; end > aligned + bytes)
      munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
    bytes_ = bytes;
    data_ = reinterpret_cast<T*>(aligned);
    madvise(data_, bytes_, MADV_HUGEPAGE);  // a hint: without THP it is an ordinary mapping
  }
  HugeArray(HugeArray&& o) noexcept { swap(o); }
  HugeArray& operator=(HugeArray&& o) noexcept {
    swap(o);
    return *this;
  }
  HugeArray(const HugeArray&) = delete;
  HugeArray& operator=(const HugeArray&) = delete;
  ~HugeArray() {
    if (data_) munmap(data_, bytes_);
  }

  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  T* data() { return data_; }
  size_t size() const { return n_; }

 private:
  void swap(HugeArray& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(n_, o.n_);
    std::swap(bytes_, o.bytes_);
  }
  T* data_ = nullptr;
  size_t n_ = 0;
  size_t bytes_ = 0;
};

}  // namespace meshplane::dataplane
