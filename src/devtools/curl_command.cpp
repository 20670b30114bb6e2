#include "devtools/curl_command.hpp"

#include <array>

namespace leadhook::devtools {
namespace {

/// The body as printf's %b argument: every byte that a terminal, an editor
/// or the shell could change becomes an escape, so the line is plain ASCII.
std::string printf_escaped(std::string_view body) {
    std::string out;
    out.reserve(body.size() + body.size() / 8);
    for (const char ch : body) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c >= 0x7f) {
            // \0 and always three octal digits, so a digit that follows is not taken in.
            const std::array<char, 5> octal{'\\', '0', static_cast<char>('0' + (c >> 6)),
                                            static_cast<char>('0' + ((c >> 3) & 7)),
                                            static_cast<char>('0' + (c & 7))};
            out.append(octal.data(), octal.size());
        } else {
            out.push_back(ch);
        }
    }
    return out;
}

} // namespace

Expected<std::string, std::string> target_url(std::string_view url, std::string_view route) {
    std::string_view rest;
    if (url.starts_with("http://")) {
        rest = url.substr(7);
    } else if (url.starts_with("https://")) {
        rest = url.substr(8);
    } else {
        return unexpected(std::string("--curl needs an http:// or https:// URL"));
    }
    for (const char c : url) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return unexpected(std::string("--curl URL contains a space or a control character"));
        }
    }
    const auto slash = rest.find_first_of("/?#");
    const std::string_view authority = rest.substr(0, slash);
    if (authority.empty()) {
        return unexpected(std::string("--curl URL has no host"));
    }
    if (slash != std::string_view::npos && rest[slash] != '/') {
        return unexpected(std::string("--curl URL: give a base (http://host:port) or a full URL "
                                      "with a path"));
    }
    if (slash == std::string_view::npos || rest.substr(slash) == "/") {
        return std::string(url.substr(0, url.size() - rest.size())) + std::string(authority) +
               std::string(route);
    }
    return std::string(url);
}

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out.push_back(c);
        }
    }
    return out + "'";
}

std::string curl_command(std::string_view body, std::string_view content_type,
                         std::string_view url) {
    return "printf '%b' " + shell_quote(printf_escaped(body)) + " | curl -sS -X POST -H " +
           shell_quote("Content-Type: " + std::string(content_type)) +
           " --data-binary @- -w '\\nHTTP %{http_code} %{url_effective}\\n' " + shell_quote(url);
}

} // namespace leadhook::devtools
