#include "capture/capture_format.hpp"

#include "util/rfc3339.hpp"

#include <string_view>

namespace leadhook::capture {
namespace {

std::string header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
        }
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(header_value(value)).append("\r\n");
}

/// 2026-11-29T07:30:00.123456Z -> 20261129T073000.123456Z
std::string compact_time(EpochMicros t) {
    std::string text = format_rfc3339(t);
    std::erase_if(text, [](char c) { return c == '-' || c == ':'; });
    return text;
}

/// Why the body is not in the capture (the edge did not read it, or not
/// as declared); empty when it is.
std::string omitted_because(const http::Request& request) {
    if (request.body_too_large) {
        return "larger than max_body_bytes";
    }
    if (request.over_budget) {
        return "not read: max_bytes_in_flight reached";
    }
    if (!request.body_error.empty()) {
        return "not as declared: " + request.body_error;
    }
    return {};
}

} // namespace

std::string format_capture(const http::Request& request) {
    const std::string omitted_reason = omitted_because(request);
    const bool omitted = !omitted_reason.empty();
    std::string out;
    out.reserve(request.body.size() + 512);
    out.append(request.method.empty() ? "POST" : header_value(request.method))
        .append(" ")
        .append(request.path.empty() ? "/" : header_value(request.path))
        .append(" HTTP/1.1\r\n");
    if (!request.content_type.empty()) {
        header(out, "Content-Type", request.content_type);
    }
    header(out, "Content-Length", std::to_string(omitted ? 0 : request.body.size()));
    for (const auto& [name, value] : request.headers) {
        header(out, header_value(name), value);
    }
    header(out, "X-Leadhook-Received-At", format_rfc3339(request.received_at));
    header(out, "X-Leadhook-Remote-Addr", request.remote_addr);
    header(out, "X-Leadhook-Request-Id", request.request_id);
    if (omitted) {
        header(out, std::string(body_omitted_header), omitted_reason);
    }
    out.append("\r\n");
    if (!omitted) {
        out.append(request.body);
    }
    return out;
}

std::string capture_file_name(const http::Request& request) {
    std::string id;
    for (char c : request.request_id) {
        const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (safe && id.size() < 64) {
            id += c;
        }
    }
    return compact_time(request.received_at) + "-" + (id.empty() ? "request" : id) + ".http";
}

} // namespace leadhook::capture
