#pragma once
// Capture mode in front of the request handler: when the current settings
// name a capture_dir, a request is written there as received, before it is
// handled (which requests: the caller decides, app::worth_capturing). A
// SIGHUP that changes capture_dir or its bounds takes effect with the next
// request. A capture that cannot be written never affects the answer; it is
// logged when writing starts to fail and when it works again, not for every
// request.
#include "capture/capture_format.hpp"
#include "capture/capture_store.hpp"
#include "obs/log.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace leadhook::capture {

class Capture {
  public:
    /// Opens the directory now, if one is set, so that one it cannot use is
    /// logged at start rather than at the first webhook.
    Capture(const CaptureSettings& initial, obs::Logger& log);

    /// Writes `request` under the current `settings` (opening another
    /// directory when they changed). Thread-safe; nothing when capture is off.
    void record(const http::Request& request, const CaptureSettings& settings);

  private:
    /// The store for these settings, opened (or reopened) if they changed;
    /// nullptr when it cannot be opened (logged once per change).
    std::shared_ptr<CaptureStore> store_for(const CaptureSettings& wanted);
    void note(bool ok, const std::string& error);

    obs::Logger& m_log;
    std::mutex m_mutex;
    CaptureSettings m_opened_for; ///< guarded by m_mutex, as is m_store
    std::shared_ptr<CaptureStore> m_store;
    std::atomic<bool> m_failing{false};
};

} // namespace leadhook::capture
