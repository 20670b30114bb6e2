#pragma once
// Capture mode's file system side: one file per request in a private
// directory, the oldest removed once the count or the bytes pass their
// bounds. Captures hold tokens and signatures, so the directory is 0700 and
// each file 0600. The bounds are per process: give each instance its own
// directory.
#include "capture/capture_format.hpp"
#include "http/request.hpp"
#include "util/expected.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace leadhook::capture {

class CaptureStore {
  public:
    /// Creates `dir` (mode 0700) if it is missing and takes stock of the
    /// captures already in it, removing the oldest if they pass the limits.
    /// The message says why it cannot capture there.
    static Expected<std::unique_ptr<CaptureStore>, std::string> open(const std::string& dir,
                                                                     CaptureLimits limits);

    /// Writes the request (to a temporary name, then renamed, so a reader
    /// never sees half a file); nullopt, or what went wrong. Thread-safe.
    std::optional<std::string> write(const http::Request& request);

    const std::string& dir() const { return m_dir; }
    CaptureLimits limits() const { return m_limits; }

  private:
    struct File {
        std::string name;
        long long bytes;
    };
    CaptureStore(std::string dir, CaptureLimits limits) : m_dir(std::move(dir)), m_limits(limits) {}
    void add_and_trim(File file); ///< with m_mutex held

    const std::string m_dir;
    const CaptureLimits m_limits;
    std::mutex m_mutex;
    std::deque<File> m_files; ///< oldest first; guarded by m_mutex, as is m_bytes
    long long m_bytes = 0;
};

} // namespace leadhook::capture
