#include "capture/capture_read.hpp"

#include "capture/capture_format.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace leadhook::capture {
namespace {

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

/// At most 80 bytes of a line, for an error message.
std::string quoted(std::string_view line) {
    return "'" + std::string(line.substr(0, 80)) + "'";
}

/// The lines of the head, CRLF or LF.
std::vector<std::string_view> head_lines(std::string_view head) {
    std::vector<std::string_view> lines;
    std::size_t start = 0;
    while (start <= head.size()) {
        const std::size_t end = std::min(head.find('\n', start), head.size());
        std::string_view line = head.substr(start, end - start);
        if (line.ends_with('\r')) {
            line.remove_suffix(1);
        }
        lines.push_back(line);
        start = end + 1;
    }
    return lines;
}

Expected<CapturedRequest, std::string> request_line(std::string_view line) {
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos ||
        first == 0 || line.substr(second + 1).substr(0, 5) != "HTTP/" ||
        line.substr(first + 1, 1) != "/") {
        return unexpected("not an HTTP request line: " + quoted(line));
    }
    CapturedRequest request;
    request.method = std::string(line.substr(0, first));
    request.target = std::string(line.substr(first + 1, second - first - 1));
    return request;
}

/// Cuts the body to Content-Length; an error when it is not a number or
/// the file holds less.
std::optional<std::string> apply_content_length(CapturedRequest& request) {
    const std::string* length = request.header("Content-Length");
    if (length == nullptr) {
        return std::nullopt;
    }
    if (length->empty() || length->size() > 15 ||
        !std::all_of(length->begin(), length->end(),
                     [](unsigned char c) { return std::isdigit(c) != 0; })) {
        return "bad Content-Length " + quoted(*length);
    }
    const std::size_t declared = std::stoull(*length);
    if (request.body.size() < declared) {
        return "truncated: Content-Length " + *length + ", " + std::to_string(request.body.size()) +
               " body bytes";
    }
    request.body.resize(declared); // anything after it is not part of the request
    return std::nullopt;
}

} // namespace

const std::string* CapturedRequest::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (same_ignoring_case(key, name)) {
            return &value;
        }
    }
    return nullptr;
}

Expected<CapturedRequest, std::string> parse_capture(std::string_view file) {
    std::size_t head_end = file.find("\r\n\r\n");
    std::size_t separator = 4;
    if (head_end == std::string_view::npos) {
        head_end = file.find("\n\n");
        separator = 2;
    }
    if (head_end == std::string_view::npos) {
        return unexpected(std::string("no empty line after the headers"));
    }
    const auto lines = head_lines(file.substr(0, head_end));
    auto request = request_line(lines.front());
    if (!request) {
        return request;
    }
    for (std::size_t i = 1; i < lines.size(); ++i) {
        const std::size_t colon = lines[i].find(':');
        const std::string_view name = lines[i].substr(0, colon);
        if (colon == std::string_view::npos || name.empty() || trim(name) != name) {
            return unexpected("malformed header line: " + quoted(lines[i]));
        }
        const std::string value(trim(lines[i].substr(colon + 1)));
        if (lower(name).starts_with("x-leadhook-")) {
            request->metadata.emplace_back(lower(name), value);
        } else {
            request->headers.emplace_back(std::string(name), value);
        }
    }
    request->body = std::string(file.substr(head_end + separator));
    if (auto error = apply_content_length(*request)) {
        return unexpected(std::move(*error));
    }
    for (const auto& [name, value] : request->metadata) {
        if (same_ignoring_case(name, body_omitted_header)) {
            return unexpected("the body was not captured (X-Leadhook-Body-Omitted: " + value + ")");
        }
    }
    return request;
}

} // namespace leadhook::capture
