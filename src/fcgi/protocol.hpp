#pragma once
// FastCGI 1.0, the responder role, as bytes in and bytes out: the records of
// one connection read as they arrive, in pieces of any size, and an answer
// encoded. No I/O. A reader that blocks its thread until the whole request
// has come (as libfcgi's did) lets a slow peer hold a worker; here a slow
// peer costs a buffer, never a thread, and every part of a request is
// bounded before it is kept.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::fcgi {

struct ProtocolLimits {
    /// One request's FCGI_PARAMS stream: nginx's defaults (request line and
    /// headers within 4 buffers of 8 KiB) stay far below it.
    std::size_t max_params_bytes = 256u << 10;
    std::size_t max_param_bytes = 64u << 10; ///< one name and its value
    int max_requests = 32; ///< FCGI_MAX_CONNS and FCGI_MAX_REQS, for FCGI_GET_VALUES
};

using Params = std::vector<std::pair<std::string, std::string>>;

/// A request whose parameters have arrived (and then its body).
struct IncomingRequest {
    std::uint16_t id = 0;
    bool keep_connection = false; ///< FCGI_KEEP_CONN: the web server reuses the connection
    Params params;
    std::string body;
    /// Why the request did not arrive as declared (parameters over their
    /// bounds, a body longer or shorter than CONTENT_LENGTH, a stream that
    /// broke off): it is answered 400 and the connection closed. Empty when
    /// it did.
    std::string error;
};

class RequestReader {
  public:
    enum class Step {
        more,   ///< every byte given was used: wait for more
        params, ///< the parameters are complete: admit_body() or refuse_body() next
        ready,  ///< the request is complete, or must be answered as it is: take() it
        close,  ///< not a stream this can answer, or aborted: close (problem() says why)
    };

    explicit RequestReader(ProtocolLimits limits) : m_limits(limits) {}

    /// Reads from the front of `input`, removing what it used, until it
    /// needs more bytes or has something to report.
    Step consume(std::string_view& input);
    /// The peer will send nothing more: what that makes of the request.
    Step end_of_input();

    /// The request being read: its parameters once consume() said params.
    const IncomingRequest& request() const { return m_request; }
    /// Expects exactly `length` bytes on FCGI_STDIN (CONTENT_LENGTH).
    void admit_body(std::size_t length);
    /// Answers the request without reading its body. The rest of the
    /// connection is never read: close it after the answer.
    void refuse_body();
    /// The ready request; the reader then waits for the next one.
    IncomingRequest take();

    /// Records owed to the peer (answers to management records, refused
    /// multiplexed requests): send them, then clear.
    std::string& replies() { return m_replies; }
    const std::string& problem() const { return m_problem; }
    /// Some of a request (or of a record) has arrived, and not all of it.
    bool mid_request() const;
    /// The connection can carry another request after this one's answer.
    bool reusable() const { return m_reusable; }

  private:
    enum class Phase { idle, params, awaiting_admission, body, ready, closed };

    Step on_record();
    Step on_begin(std::uint16_t id);
    Step on_params();
    Step on_stdin();
    Step on_management();
    Step parse_params();
    Step finish(std::string error);
    Step fail(std::string problem);

    ProtocolLimits m_limits;
    Phase m_phase = Phase::idle;
    IncomingRequest m_request;
    std::string m_params_stream; ///< the FCGI_PARAMS content so far
    std::size_t m_body_length = 0;
    bool m_reusable = true;
    std::string m_replies;
    std::string m_problem;

    // The record being read: its 8-byte header, then content and padding.
    std::string m_header;
    std::uint8_t m_type = 0;
    std::uint16_t m_id = 0;
    std::size_t m_record_length = 0; ///< its content's
    std::size_t m_content_left = 0;
    std::size_t m_padding_left = 0;
    bool m_in_record = false;
    std::string m_content; ///< the record's content (not FCGI_STDIN's: that goes to the body)
};

/// The FCGI_STDOUT records carrying `stdout_bytes`, the stream's end, and
/// FCGI_END_REQUEST (request complete, status 0).
std::string encode_response(std::uint16_t id, std::string_view stdout_bytes);

} // namespace leadhook::fcgi
