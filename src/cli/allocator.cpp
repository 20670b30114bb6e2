// tcmalloc (CMakeLists.txt says why leadhook links it) keeps freed memory in
// per-thread caches, up to 32 MiB across all threads by default. leadhook
// has a thread per worker (64 by default) besides the writers, and bodies
// of up to max_body_bytes: under varied traffic the caches fill towards that
// bound, which alone is issue 6's whole memory budget. 2 MiB in all keeps
// integration.hostile's RSS check green at no measurable cost
// (docs/benchmarks.md has the runs).
#include "cli/allocator.hpp"

#include <cstddef>
#include <cstdlib>

#ifdef LEADHOOK_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#else
#include <malloc.h>
#endif

// Under AddressSanitizer malloc is ASan's, and glibc's malloc_trim walks
// arenas glibc never set up: it crashed a sanitizer run (SEGV in mtrim).
#if defined(__SANITIZE_ADDRESS__)
#define LEADHOOK_ASAN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEADHOOK_ASAN_ALLOCATOR 1
#endif
#endif

namespace leadhook::cli {

void bound_allocator_caches([[maybe_unused]] obs::Logger& log) {
#ifdef LEADHOOK_TCMALLOC
    constexpr std::size_t thread_cache_bytes = std::size_t{2} << 20;
    if (std::getenv("TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES") != nullptr) {
        return; // the operator's choice, which tcmalloc read at start-up
    }
    if (MallocExtension_SetNumericProperty("tcmalloc.max_total_thread_cache_bytes",
                                           thread_cache_bytes) == 0) {
        log.write("warn", {{"msg", "tcmalloc refused to bound its thread caches; memory may "
                                   "grow by up to 32 MiB of cached free blocks"}});
    }
#endif
}

void release_free_memory() {
#if defined(LEADHOOK_TCMALLOC)
    MallocExtension_ReleaseFreeMemory();
#elif !defined(LEADHOOK_ASAN_ALLOCATOR)
    (void)::malloc_trim(0); // glibc: 1 if it released any, 0 if there was none
#endif
}

} // namespace leadhook::cli
