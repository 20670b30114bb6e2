#pragma once
// Capture mode in front of the request handler: when the current settings
// name a capture_dir, every webhook request is written there as received,
// before it is handled. A SIGHUP that changes capture_dir or its bounds
// takes effect with the next request. A capture that cannot be written never
// affects the answer; it is logged when writing starts to fail and when it
// works again, not for every request.
#include "app/settings.hpp"
#include "capture/capture_store.hpp"
#include "obs/log.hpp"

#include <atomic>
#include <memory>
#include <mutex>

namespace leadhook::capture {

class Capture {
  public:
    /// Opens capture_dir now, if set, so that a directory it cannot use is
    /// logged at start rather than at the first webhook.
    Capture(const app::SettingsHolder& settings, obs::Logger& log);

    /// Thread-safe; cheap when capture is off.
    void record(const http::Request& request);

  private:
    /// The store for these settings, opened (or reopened) if they changed;
    /// nullptr when it cannot be opened (logged once per change).
    std::shared_ptr<CaptureStore> store_for(const CaptureSettings& wanted);
    void note(bool ok, const std::string& error);

    const app::SettingsHolder& m_settings;
    obs::Logger& m_log;
    std::mutex m_mutex;
    CaptureSettings m_opened_for; ///< guarded by m_mutex, as is m_store
    std::shared_ptr<CaptureStore> m_store;
    std::atomic<bool> m_failing{false};
};

} // namespace leadhook::capture
