#pragma once
// Capture mode's file format: one webhook request as a plain HTTP/1.1
// request message (CRLF line endings), so it reads like what was sent and
// scripts/replay (or nc) can send it again:
//
//   POST /api/v1/wh/mg/events HTTP/1.1
//   Content-Type: application/json
//   Content-Length: 1234
//   User-Agent: mailgun/treq-16.12.0
//   X-Leadhook-Received-At: 2026-11-29T07:30:00.123456Z
//   X-Leadhook-Remote-Addr: 203.0.113.5
//   X-Leadhook-Request-Id: 5f0c...
//
//   <exactly Content-Length bytes of body>
//
// X-Leadhook-* lines are metadata, not headers to send again. Pure: the file
// system side is capture_store.hpp.
#include "http/request.hpp"

#include <string>
#include <string_view>

namespace leadhook::capture {

/// Capture mode's settings (config: capture_dir, capture_max_files,
/// capture_max_bytes); an empty dir is off.
struct CaptureLimits {
    long long max_files = 1000;
    long long max_bytes = 100LL << 20;
};
struct CaptureSettings {
    std::string dir;
    CaptureLimits limits;
};

/// Names the reason when a capture holds no body: leadhook did not read it
/// (too large, or the bytes in flight at their bound), or it did not arrive
/// as declared.
constexpr std::string_view body_omitted_header = "X-Leadhook-Body-Omitted";

/// The whole file. Header values lose CR, LF and other control characters
/// (they cannot be sent back in a header anyway); the body is byte-exact.
/// A body the request does not carry whole is left out: Content-Length 0
/// and body_omitted_header with the reason.
std::string format_capture(const http::Request& request);

/// "20261129T073000.123456Z-<request id>.http": sorts by arrival time. The
/// request id is reduced to [A-Za-z0-9._-] and 64 characters.
std::string capture_file_name(const http::Request& request);

} // namespace leadhook::capture
