#include "capture/capture.hpp"

namespace leadhook::capture {
namespace {

bool same(const CaptureSettings& a, const CaptureSettings& b) {
    return a.dir == b.dir && a.limits.max_files == b.limits.max_files &&
           a.limits.max_bytes == b.limits.max_bytes;
}

} // namespace

Capture::Capture(const CaptureSettings& initial, obs::Logger& log) : m_log(log) {
    if (!initial.dir.empty()) {
        (void)store_for(initial);
    }
}

void Capture::record(const http::Request& request, const CaptureSettings& settings) {
    if (settings.dir.empty()) {
        return;
    }
    auto store = store_for(settings);
    if (!store) {
        return;
    }
    const auto error = store->write(request);
    note(!error, error.value_or(""));
}

std::shared_ptr<CaptureStore> Capture::store_for(const CaptureSettings& wanted) {
    std::lock_guard lock(m_mutex);
    if (m_store && same(m_opened_for, wanted)) {
        return m_store;
    }
    if (!m_store && same(m_opened_for, wanted)) {
        return nullptr; // failed to open for these settings; said so already
    }
    m_opened_for = wanted;
    auto opened = CaptureStore::open(wanted.dir, wanted.limits);
    if (!opened) {
        m_store.reset();
        m_log.write("error", {{"msg", "capture mode: cannot capture; requests are served as usual"},
                              {"capture_dir", wanted.dir},
                              {"error", opened.error()}});
        return nullptr;
    }
    m_store = std::move(opened).value();
    m_log.write("info", {{"msg", "capture mode: capturing every webhook request"},
                         {"capture_dir", wanted.dir},
                         {"max_files", std::to_string(wanted.limits.max_files)},
                         {"max_bytes", std::to_string(wanted.limits.max_bytes)}});
    return m_store;
}

void Capture::note(bool ok, const std::string& error) {
    if (!ok && !m_failing.exchange(true)) {
        m_log.write("error", {{"msg", "capture mode: cannot write captures (logged once until "
                                      "it works again)"},
                              {"error", error}});
    } else if (ok && m_failing.exchange(false)) {
        m_log.write("info", {{"msg", "capture mode: writing captures again"}});
    }
}

} // namespace leadhook::capture
