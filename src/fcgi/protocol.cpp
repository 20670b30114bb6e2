#include "fcgi/protocol.hpp"

#include <algorithm>
#include <optional>

namespace leadhook::fcgi {
namespace {

// Record types and values of the FastCGI 1.0 specification.
constexpr std::uint8_t begin_request = 1;
constexpr std::uint8_t abort_request = 2;
constexpr std::uint8_t end_request = 3;
constexpr std::uint8_t params = 4;
constexpr std::uint8_t stdin_stream = 5;
constexpr std::uint8_t stdout_stream = 6;
constexpr std::uint8_t get_values = 9;
constexpr std::uint8_t get_values_result = 10;
constexpr std::uint8_t unknown_type = 11;
constexpr std::uint16_t responder = 1;
constexpr std::uint8_t keep_conn = 1;
constexpr std::uint8_t request_complete = 0;
constexpr std::uint8_t cant_mpx_conn = 1;
constexpr std::size_t header_size = 8;
constexpr std::size_t max_content = 65535;

std::string header(std::uint8_t type, std::uint16_t id, std::size_t length) {
    return std::string{static_cast<char>(1),
                       static_cast<char>(type),
                       static_cast<char>(id >> 8),
                       static_cast<char>(id & 0xff),
                       static_cast<char>(length >> 8),
                       static_cast<char>(length & 0xff),
                       0,
                       0};
}

std::string end_request_record(std::uint16_t id, std::uint8_t protocol_status) {
    return header(end_request, id, 8) +
           std::string{0, 0, 0, 0, static_cast<char>(protocol_status), 0, 0, 0};
}

std::uint8_t byte_at(std::string_view s, std::size_t i) {
    return static_cast<std::uint8_t>(s[i]);
}

/// A name-value pair's length: one byte below 128, else four (high bit set).
std::optional<std::size_t> read_length(std::string_view& s) {
    if (s.empty()) {
        return std::nullopt;
    }
    if ((byte_at(s, 0) & 0x80) == 0) {
        const std::size_t n = byte_at(s, 0);
        s.remove_prefix(1);
        return n;
    }
    if (s.size() < 4) {
        return std::nullopt;
    }
    const std::size_t n = (static_cast<std::size_t>(byte_at(s, 0) & 0x7f) << 24) |
                          (static_cast<std::size_t>(byte_at(s, 1)) << 16) |
                          (static_cast<std::size_t>(byte_at(s, 2)) << 8) | byte_at(s, 3);
    s.remove_prefix(4);
    return n;
}

/// The pairs of a name-value stream, or nullopt when a length runs past it.
std::optional<Params> name_values(std::string_view s) {
    Params pairs;
    while (!s.empty()) {
        const auto name = read_length(s);
        const auto value = name ? read_length(s) : std::nullopt;
        if (!value || *name > s.size() || *value > s.size() - *name) {
            return std::nullopt;
        }
        pairs.emplace_back(std::string(s.substr(0, *name)), std::string(s.substr(*name, *value)));
        s.remove_prefix(*name + *value);
    }
    return pairs;
}

void append_pair(std::string& out, std::string_view name, std::string_view value) {
    // Only our own short names and values: one-byte lengths.
    out += static_cast<char>(name.size());
    out += static_cast<char>(value.size());
    out += name;
    out += value;
}

} // namespace

RequestReader::Step RequestReader::consume(std::string_view& input) {
    while (true) {
        switch (m_phase) {
        case Phase::awaiting_admission:
            return Step::params;
        case Phase::ready:
            return Step::ready;
        case Phase::closed:
            return Step::close;
        case Phase::idle:
        case Phase::params:
        case Phase::body:
            break;
        }
        if (input.empty()) {
            return Step::more;
        }
        if (!m_in_record) {
            const std::size_t n = std::min(header_size - m_header.size(), input.size());
            m_header.append(input.substr(0, n));
            input.remove_prefix(n);
            if (m_header.size() < header_size) {
                return Step::more;
            }
            if (byte_at(m_header, 0) != 1) {
                return fail("not FastCGI (record version " + std::to_string(byte_at(m_header, 0)) +
                            ")");
            }
            m_type = byte_at(m_header, 1);
            m_id = static_cast<std::uint16_t>((byte_at(m_header, 2) << 8) | byte_at(m_header, 3));
            m_content_left =
                (static_cast<std::size_t>(byte_at(m_header, 4)) << 8) | byte_at(m_header, 5);
            m_padding_left = byte_at(m_header, 6);
            m_record_length = m_content_left;
            m_header.clear();
            m_content.clear();
            m_in_record = true;
        }
        const bool to_body =
            m_type == stdin_stream && m_phase == Phase::body && m_id == m_request.id;
        if (m_content_left > 0) {
            const std::size_t n = std::min(m_content_left, input.size());
            if (!to_body) {
                m_content.append(input.substr(0, n));
            } else if (m_request.body.size() + n > m_body_length) {
                // As much as was declared, however the bytes were split.
                m_request.body.append(input.substr(0, m_body_length - m_request.body.size()));
                return finish("request body is longer than CONTENT_LENGTH says (" +
                              std::to_string(m_body_length) + " bytes)");
            } else {
                m_request.body.append(input.substr(0, n));
            }
            input.remove_prefix(n);
            m_content_left -= n;
        }
        const std::size_t skip = std::min(m_padding_left, input.size());
        input.remove_prefix(skip);
        m_padding_left -= skip;
        if (m_content_left > 0 || m_padding_left > 0) {
            return Step::more;
        }
        m_in_record = false;
        if (const Step step = on_record(); step != Step::more) {
            return step;
        }
    }
}

RequestReader::Step RequestReader::on_record() {
    const bool active = m_phase != Phase::idle && m_id == m_request.id;
    switch (m_type) {
    case begin_request:
        return on_begin(m_id);
    case abort_request:
        return active ? fail("the web server aborted the request") : Step::more;
    case params:
        if (active) {
            return m_phase == Phase::params ? on_params() : fail("FCGI_PARAMS out of place");
        }
        return Step::more; // a record of a request never begun is skipped
    case stdin_stream:
        if (active) {
            return m_phase == Phase::body ? on_stdin()
                                          : fail("FCGI_STDIN before the parameters ended");
        }
        return Step::more;
    default:
        if (m_id == 0) {
            return on_management();
        }
        return active ? fail("record type " + std::to_string(m_type) + " inside a request")
                      : Step::more;
    }
}

RequestReader::Step RequestReader::on_begin(std::uint16_t id) {
    if (m_content.size() != 8) {
        return fail("FCGI_BEGIN_REQUEST of " + std::to_string(m_content.size()) + " bytes");
    }
    if (id == 0) {
        return fail("FCGI_BEGIN_REQUEST with request id 0");
    }
    if (m_phase != Phase::idle) {
        if (id == m_request.id) {
            return fail("request " + std::to_string(id) + " begun twice");
        }
        m_replies += end_request_record(id, cant_mpx_conn); // one request at a time
        return Step::more;
    }
    const auto role =
        static_cast<std::uint16_t>((byte_at(m_content, 0) << 8) | byte_at(m_content, 1));
    if (role != responder) {
        return fail("FastCGI role " + std::to_string(role) + " (only the responder is served)");
    }
    m_request = IncomingRequest{};
    m_request.id = id;
    m_request.keep_connection = (byte_at(m_content, 2) & keep_conn) != 0;
    m_params_stream.clear();
    m_phase = Phase::params;
    return Step::more;
}

RequestReader::Step RequestReader::on_params() {
    if (m_content.empty()) {
        return parse_params();
    }
    if (m_params_stream.size() + m_content.size() > m_limits.max_params_bytes) {
        return finish("FastCGI parameters over " + std::to_string(m_limits.max_params_bytes) +
                      " bytes");
    }
    m_params_stream += m_content;
    return Step::more;
}

RequestReader::Step RequestReader::parse_params() {
    auto pairs = name_values(m_params_stream);
    m_params_stream = std::string{}; // its memory too
    if (!pairs) {
        return fail("FastCGI parameter lengths run past their stream");
    }
    for (const auto& [name, value] : *pairs) {
        if (name.size() + value.size() > m_limits.max_param_bytes) {
            return finish("a FastCGI parameter over " + std::to_string(m_limits.max_param_bytes) +
                          " bytes");
        }
    }
    m_request.params = std::move(*pairs);
    m_phase = Phase::awaiting_admission;
    return Step::params;
}

RequestReader::Step RequestReader::on_stdin() {
    if (m_record_length > 0) {
        return Step::more; // appended to the body as it came
    }
    if (m_request.body.size() != m_body_length) {
        return finish("request body is " + std::to_string(m_request.body.size()) +
                      " bytes but CONTENT_LENGTH says " + std::to_string(m_body_length));
    }
    m_phase = Phase::ready;
    return Step::ready;
}

RequestReader::Step RequestReader::on_management() {
    if (m_type != get_values) {
        m_replies += header(unknown_type, 0, 8) +
                     std::string{static_cast<char>(m_type), 0, 0, 0, 0, 0, 0, 0};
        return Step::more;
    }
    const auto asked = name_values(m_content);
    std::string answer;
    for (const auto& [name, value] : asked.value_or(Params{})) {
        if (name == "FCGI_MAX_CONNS" || name == "FCGI_MAX_REQS") {
            append_pair(answer, name, std::to_string(m_limits.max_requests));
        } else if (name == "FCGI_MPXS_CONNS") {
            append_pair(answer, name, "0");
        }
    }
    m_replies += header(get_values_result, 0, answer.size()) + answer;
    return Step::more;
}

RequestReader::Step RequestReader::end_of_input() {
    switch (m_phase) {
    case Phase::ready:
        return Step::ready;
    case Phase::body:
        return finish("request body broke off after " + std::to_string(m_request.body.size()) +
                      " bytes (CONTENT_LENGTH " + std::to_string(m_body_length) + ")");
    case Phase::idle:
        if (!m_in_record && m_header.empty()) {
            m_phase = Phase::closed; // between requests: the peer is done
            return Step::close;
        }
        break;
    default:
        break;
    }
    return fail("the connection closed in the middle of a request");
}

void RequestReader::admit_body(std::size_t length) {
    m_body_length = length;
    m_request.body.reserve(length); // one allocation, never a doubling copy
    m_phase = Phase::body;
}

void RequestReader::refuse_body() {
    m_phase = Phase::ready;
    m_reusable = false;
}

IncomingRequest RequestReader::take() {
    IncomingRequest request = std::move(m_request);
    m_request = IncomingRequest{};
    m_phase = m_reusable ? Phase::idle : Phase::closed;
    return request;
}

bool RequestReader::mid_request() const {
    return m_phase == Phase::params || m_phase == Phase::body || m_in_record || !m_header.empty();
}

RequestReader::Step RequestReader::finish(std::string error) {
    m_request.error = std::move(error);
    m_phase = Phase::ready;
    m_reusable = false;
    return Step::ready;
}

RequestReader::Step RequestReader::fail(std::string problem) {
    m_problem = std::move(problem);
    m_phase = Phase::closed;
    return Step::close;
}

std::string encode_response(std::uint16_t id, std::string_view stdout_bytes) {
    std::string out;
    out.reserve(stdout_bytes.size() + (stdout_bytes.size() / max_content + 3) * header_size + 8);
    while (!stdout_bytes.empty()) {
        const std::size_t n = std::min(stdout_bytes.size(), max_content);
        out += header(stdout_stream, id, n);
        out += stdout_bytes.substr(0, n);
        stdout_bytes.remove_prefix(n);
    }
    out += header(stdout_stream, id, 0);
    out += end_request_record(id, request_complete);
    return out;
}

} // namespace leadhook::fcgi
