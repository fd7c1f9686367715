// How the process's C heap hands tensor memory back to the system, and how often the kernel had to map pages in.
//
// libtorch's CPU allocator is plain malloc/free. glibc serves a request above its mmap threshold (128 KiB at
// first, raised up to 32 MiB as such blocks are freed) with a fresh mapping and unmaps it on free, and it trims
// the top of each heap once 128 KiB (twice the threshold later) lie free there. A training step allocates and frees
// the same activations every step, so each step maps them afresh and pays a page fault per 4 KiB page on first
// touch: about 14,000 faults a step for the small GPT-2 preset from Java (`bench-train` prints them), where the
// training thread allocates from a secondary arena, against about 9,000 in Python (the main arena); with the freed
// memory kept, 200-300 (benchmarks/results/train-step-cpu.md has the step times), at the cost of holding the
// process's peak heap until it exits.
#include <sys/resource.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>

#include "incontext/generator.h"

namespace incontext {

bool retain_freed_memory() {
#if defined(__GLIBC__)
  // 32 MiB is the largest threshold glibc accepts (half its secondary-heap size); larger blocks are still mapped per
  // allocation. Setting either value also stops glibc's own adjustment of both.
  constexpr int kMmapThreshold = 32 << 20;
  const bool mmap_set = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  const bool trim_set = mallopt(M_TRIM_THRESHOLD, INT_MAX) == 1;
  // A secondary arena (every thread but the process's first allocates from one) also unmaps a whole heap (64 MiB)
  // once it lies free, whatever the trim threshold, unless the heap before it lacks top pad plus the mmap threshold
  // of room: a pad of a whole heap keeps them all.
  const bool pad_set = mallopt(M_TOP_PAD, 64 << 20) == 1;
  return mmap_set && trim_set && pad_set;
#else
  return false;
#endif
}

int64_t minor_page_faults() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
  return static_cast<int64_t>(usage.ru_minflt);
}

}  // namespace incontext
