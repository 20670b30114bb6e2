#include "domain/lead_state.hpp"

namespace leadhook::domain {
namespace {

using mailgun::EventType;

bool is_newest(const std::optional<EpochMicros>& seen, EpochMicros event_time) {
    return !seen || event_time >= *seen;
}

/// Events that say something about the follow-up email itself. accepted,
/// stored and unknown are logged but leave the lead alone.
bool sets_status(EventType type) {
    return type != EventType::accepted && type != EventType::stored && type != EventType::unknown;
}

void set_flag(bool& flag) {
    flag = true;
}

/// Details follow the newest event of their kind; an older one only fills gaps.
void set_detail(std::string& field, const std::string& value, bool newest) {
    if (!value.empty() && (newest || field.empty())) {
        field = value;
    }
}

std::string device_of(const mailgun::Event& e) {
    return !e.device_type.empty() ? e.device_type : e.client_name;
}

/// Opens and clicks: each one counts; the ip and device shown are those of
/// the newest by event time.
struct Engagement {
    int& count;
    std::string& ip;
    std::string& device;
    std::optional<EpochMicros>& at;
};

void record_engagement(Engagement seen, const mailgun::Event& e, EpochMicros t) {
    ++seen.count;
    const bool newest = is_newest(seen.at, t);
    set_detail(seen.ip, e.ip, newest);
    set_detail(seen.device, device_of(e), newest);
    if (newest) {
        seen.at = t;
    }
}

void record_failure(LeadState& lead, const mailgun::Event& e, EpochMicros t) {
    if (e.type == EventType::bounced) {
        set_flag(lead.bounced);
        const bool newest = is_newest(lead.bounce_at, t);
        set_detail(lead.bounce_error, !e.error.empty() ? e.error : e.description, newest);
        set_detail(lead.bounce_code, e.code, newest);
        if (newest) {
            lead.bounce_at = t;
        }
        return;
    }
    set_flag(lead.dropped); // dropped and rejected
    const bool newest = is_newest(lead.dropped_at, t);
    set_detail(lead.dropped_reason, e.reason, newest);
    set_detail(lead.dropped_code, e.code, newest);
    set_detail(lead.dropped_description, !e.description.empty() ? e.description : e.error, newest);
    if (newest) {
        lead.dropped_at = t;
    }
}

void apply_flags(LeadState& lead, const mailgun::Event& e, EpochMicros t) {
    switch (e.type) {
    case EventType::opened:
        record_engagement({lead.opens, lead.open_ip, lead.open_device, lead.open_at}, e, t);
        [[fallthrough]];
    case EventType::delivered:
        set_flag(lead.delivered);
        break;
    case EventType::clicked:
        record_engagement({lead.clicks, lead.click_ip, lead.click_device, lead.click_at}, e, t);
        set_flag(lead.delivered);
        break;
    case EventType::bounced:
    case EventType::dropped:
    case EventType::rejected:
        record_failure(lead, e, t);
        break;
    case EventType::complained:
        set_flag(lead.spam);
        set_flag(lead.optout);
        break;
    case EventType::unsubscribed:
        set_flag(lead.unsub);
        set_flag(lead.optout);
        break;
    case EventType::deferred:
    case EventType::accepted:
    case EventType::stored:
    case EventType::unknown:
        break;
    }
}

} // namespace

bool apply_event(LeadState& lead, const mailgun::Event& event, EpochMicros event_time,
                 EpochMicros now) {
    const LeadState before = lead;
    apply_flags(lead, event, event_time);
    if (sets_status(event.type) && is_newest(lead.status_at, event_time)) {
        lead.status = std::string(mailgun::to_string(event.type));
        lead.status_at = event_time;
    }
    if (lead == before) {
        return false;
    }
    lead.last_updated = now;
    return true;
}

} // namespace leadhook::domain
