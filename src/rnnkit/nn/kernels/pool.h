// Large buffers recycled between calls, shared by every kernel in the library.
//
// A training step allocates and frees the same (T, B, ·) buffers on every call. Through
// malloc, buffers this large go back to the kernel when freed and page-fault on every
// first touch when allocated again: 5-9 µs per 4 KiB page on the development VM, as much
// as the GEMM that fills them, and after other jobs have fragmented memory, huge-page
// faults can stall on compaction. The pool keeps freed buffers (exact byte sizes, up to
// kPoolBytes in all) for the next call; the tensors it hands out are ordinary (from_blob
// with a deleter that gives the memory back). Buffers of 32 MiB and more are 2 MiB
// aligned and advised onto transparent huge pages (a hint: without THP they stay small).
#pragma once

#include <ATen/ATen.h>
#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace rnnkit_kernels {

class Pool {
 public:
  static constexpr size_t kMinBytes = size_t(1) << 20;   // smaller ones come from at::empty
  static constexpr size_t kHugeBytes = size_t(32) << 20;  // from here on: huge pages
  static constexpr size_t kPoolBytes = size_t(1) << 30;  // most memory kept while unused

  void* take(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(bytes);
      if (it != free_.end()) {
        void* p = it->second;
        free_.erase(it);
        held_ -= bytes;
        return p;
      }
    }
    const size_t align = bytes >= kHugeBytes ? size_t(2) << 20 : 64;
    const size_t rounded = (bytes + align - 1) / align * align;
    void* p = std::aligned_alloc(align, rounded);
    TORCH_CHECK(p != nullptr, "rnnkit kernel: out of memory allocating ", bytes, " bytes");
    if (bytes >= kHugeBytes) madvise(p, rounded, MADV_HUGEPAGE);
    return p;
  }

  void give(void* p, size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (held_ + bytes <= kPoolBytes) {
        free_.emplace(bytes, p);
        held_ += bytes;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mu_;
  std::unordered_multimap<size_t, void*> free_;
  size_t held_ = 0;
};

inline Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: tensors may be freed during interpreter exit
  return *p;
}

// at::empty for the large per-call buffers, through the pool.
inline at::Tensor pooled_empty(at::IntArrayRef sizes, const at::TensorOptions& opt) {
  const size_t bytes = size_t(c10::multiply_integers(sizes)) * opt.dtype().itemsize();
  if (bytes < Pool::kMinBytes) return at::empty(sizes, opt);
  void* p = pool().take(bytes);
  return at::from_blob(p, sizes, [bytes](void* q) { pool().give(q, bytes); }, opt);
}

}  // namespace rnnkit_kernels
