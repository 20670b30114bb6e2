#include "http/cgi_headers.hpp"

#include <array>
#include <string_view>

namespace leadhook::http {
namespace {

constexpr std::string_view prefix = "HTTP_";
constexpr std::array<std::string_view, 3> kept{"USER_AGENT", "X_FORWARDED_FOR", "X_REAL_IP"};
constexpr std::string_view mailgun = "X_MAILGUN_";

bool keep(std::string_view name) {
    for (auto k : kept) {
        if (name == k) {
            return true;
        }
    }
    return name.starts_with(mailgun);
}

/// X_MAILGUN_ID -> X-Mailgun-Id
std::string header_name(std::string_view cgi_name) {
    std::string out;
    bool word_start = true;
    for (char c : cgi_name) {
        if (c == '_') {
            out += '-';
            word_start = true;
            continue;
        }
        const bool letter = c >= 'A' && c <= 'Z';
        out += (letter && !word_start) ? static_cast<char>(c - 'A' + 'a') : c;
        word_start = false;
    }
    return out;
}

} // namespace

Headers kept_headers(const Headers& params) {
    Headers out;
    for (const auto& [param, value] : params) {
        const std::string_view entry(param);
        if (!entry.starts_with(prefix)) {
            continue;
        }
        const auto name = entry.substr(prefix.size());
        if (keep(name)) {
            out.emplace_back(header_name(name), value);
        }
    }
    return out;
}

} // namespace leadhook::http
