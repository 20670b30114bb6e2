#pragma once
// The allocator's own settings, applied once at start-up, and the return
// of freed memory to the system.
#include "obs/log.hpp"

namespace leadhook::cli {

/// Bounds tcmalloc's per-thread caches (allocator.cpp says why) unless the
/// operator set TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES; logs a warning when
/// tcmalloc refuses. Nothing when leadhook is built without tcmalloc.
void bound_allocator_caches(obs::Logger& log);

/// Gives the memory freed since to the system (after a large request, so
/// that a burst of them does not leave the process big for good).
void release_free_memory();

} // namespace leadhook::cli
