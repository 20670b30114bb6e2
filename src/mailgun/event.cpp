#include "mailgun/event.hpp"

#include <array>
#include <utility>

namespace leadhook::mailgun {
namespace {

struct NamedType {
    std::string_view name;
    EventType type;
};

// Legacy event values, current event values and the original app's route
// names all land here; "failed" is absent on purpose (classify_failed).
constexpr std::array<NamedType, 12> names{{
    {"delivered", EventType::delivered},
    {"opened", EventType::opened},
    {"clicked", EventType::clicked},
    {"unsubscribed", EventType::unsubscribed},
    {"complained", EventType::complained},
    {"bounced", EventType::bounced},
    {"dropped", EventType::dropped},
    {"deferred", EventType::deferred},
    {"rejected", EventType::rejected},
    {"accepted", EventType::accepted},
    {"stored", EventType::stored},
    {"unknown", EventType::unknown},
}};

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

} // namespace

std::string_view to_string(EventType type) {
    for (const auto& entry : names) {
        if (entry.type == type) {
            return entry.name;
        }
    }
    return "unknown";
}

EventType event_type_from_name(std::string_view name) {
    for (const auto& entry : names) {
        if (entry.name == name) {
            return entry.type;
        }
    }
    return EventType::unknown;
}

EventType classify_failed(std::string_view severity, std::string_view reason) {
    if (severity == "temporary") {
        return EventType::deferred;
    }
    return reason == "bounce" ? EventType::bounced : EventType::dropped;
}

std::string_view to_string(BodyFormat format) {
    switch (format) {
    case BodyFormat::json:
        return "json";
    case BodyFormat::form:
        return "form";
    case BodyFormat::multipart:
        return "multipart";
    }
    return "json";
}

std::string bare_message_id(std::string_view id) {
    id = trim(id);
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') {
        id = trim(id.substr(1, id.size() - 2));
    }
    return std::string(id);
}

} // namespace leadhook::mailgun
