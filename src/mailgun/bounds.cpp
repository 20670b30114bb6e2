#include "mailgun/bounds.hpp"

#include <initializer_list>
#include <string_view>
#include <utility>

namespace leadhook::mailgun {
namespace {

using Field = std::pair<std::string_view, const std::string*>;

std::optional<std::string> first_over(std::initializer_list<Field> fields, std::size_t limit) {
    for (const auto& [name, value] : fields) {
        if (value->size() > limit) {
            return std::string(name) + " is " + std::to_string(value->size()) +
                   " bytes, longer than Mailgun sends (at most " + std::to_string(limit) + ")";
        }
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> oversized(const SignatureParams& s) {
    if (auto over = first_over({{"token", &s.token}}, max_token_bytes)) {
        return over;
    }
    if (auto over = first_over({{"timestamp", &s.timestamp}}, max_timestamp_bytes)) {
        return over;
    }
    return first_over({{"signature", &s.signature}, {"parent-signature", &s.parent_signature}},
                      max_signature_bytes);
}

std::optional<std::string> oversized(const Event& e) {
    if (auto over = first_over({{"event id", &e.mailgun_event_id},
                                {"Message-Id", &e.message_id},
                                {"recipient", &e.recipient}},
                               max_key_field_bytes)) {
        return over;
    }
    if (auto over = first_over({{"event", &e.mailgun_event},
                                {"severity", &e.severity},
                                {"reason", &e.reason},
                                {"domain", &e.domain},
                                {"ip", &e.ip},
                                {"country", &e.country},
                                {"region", &e.region},
                                {"city", &e.city},
                                {"device-type", &e.device_type},
                                {"client-type", &e.client_type},
                                {"client-name", &e.client_name},
                                {"client-os", &e.client_os},
                                {"user-agent", &e.user_agent},
                                {"bot", &e.bot},
                                {"url", &e.url},
                                {"code", &e.code},
                                {"error", &e.error},
                                {"description", &e.description}},
                               max_text_field_bytes)) {
        return over;
    }
    for (const auto& tag : e.tags) {
        if (auto over = first_over({{"a tag", &tag}}, max_text_field_bytes)) {
            return over;
        }
    }
    return std::nullopt;
}

} // namespace leadhook::mailgun
