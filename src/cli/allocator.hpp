#pragma once
// The allocator's own settings, applied once at start-up.
#include "obs/log.hpp"

namespace leadhook::cli {

/// Bounds tcmalloc's per-thread caches (allocator.cpp says why) unless the
/// operator set TCMALLOC_MAX_TOTAL_THREAD_CACHE_BYTES; logs a warning when
/// tcmalloc refuses. Nothing when leadhook is built without tcmalloc.
void bound_allocator_caches(obs::Logger& log);

} // namespace leadhook::cli
