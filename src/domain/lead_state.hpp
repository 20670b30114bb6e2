#pragma once
// The follow-up state of one lead and the rules that move it. Pure: the
// store reads the row under a lock, applies an event here, writes it back.
//
// Mailgun delivers late, retries for hours and does not keep order, so:
// flags only ever turn on; the status and the latest open/click details
// follow the newest event *time*, never the order of arrival.
#include "mailgun/event.hpp"
#include "util/clock.hpp"

#include <optional>
#include <string>

namespace leadhook::domain {

struct LeadState {
    bool delivered = false;
    bool bounced = false;
    bool spam = false;
    bool unsub = false;
    bool dropped = false;
    bool optout = false;
    int opens = 0;
    int clicks = 0;
    std::string status;
    std::optional<EpochMicros> status_at; ///< time of the event that set `status`
    std::string open_ip, open_device;
    std::optional<EpochMicros> open_at;
    std::string click_ip, click_device;
    std::optional<EpochMicros> click_at;
    std::string dropped_reason, dropped_code, dropped_description;
    std::string bounce_error, bounce_code;
    std::optional<EpochMicros> last_updated; ///< webhook_last_updated
    std::optional<EpochMicros> bounce_at;    ///< time of the bounce the details describe
    std::optional<EpochMicros> dropped_at;   ///< time of the drop the details describe

    bool operator==(const LeadState&) const = default;
};

/// Applies `event`, which happened at `event_time`, received at `now`.
/// Returns whether anything changed (and so whether the row needs writing).
bool apply_event(LeadState& lead, const mailgun::Event& event, EpochMicros event_time,
                 EpochMicros now);

} // namespace leadhook::domain
