// FastCGI records in and out (fcgi/protocol): a request read whole, byte by
// byte or in one piece alike; its bounds; management records; what closes
// the connection; and the encoded answer.
#include "fcgi/protocol.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_protocol {

using namespace leadhook;
using fcgi::RequestReader;
using Step = RequestReader::Step;

namespace {

std::string record(std::uint8_t type, std::uint16_t id, std::string_view content,
                   std::uint8_t padding = 0) {
    std::string out{1,
                    static_cast<char>(type),
                    static_cast<char>(id >> 8),
                    static_cast<char>(id & 0xff),
                    static_cast<char>(content.size() >> 8),
                    static_cast<char>(content.size() & 0xff),
                    static_cast<char>(padding),
                    0};
    out += content;
    out += std::string(padding, '\0');
    return out;
}

std::string begin(std::uint16_t id = 1, std::uint16_t role = 1, bool keep = true) {
    return record(1, id,
                  std::string{static_cast<char>(role >> 8), static_cast<char>(role & 0xff),
                              static_cast<char>(keep ? 1 : 0), 0, 0, 0, 0, 0});
}

std::string length_of(std::size_t n) {
    if (n < 128) {
        return std::string(1, static_cast<char>(n));
    }
    return std::string{static_cast<char>(0x80 | (n >> 24)), static_cast<char>((n >> 16) & 0xff),
                       static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}

std::string pair(std::string_view name, std::string_view value) {
    return length_of(name.size()) + length_of(value.size()) + std::string(name) +
           std::string(value);
}

/// A stream's records (at most `chunk` bytes of content each) and its end.
std::string stream(std::uint8_t type, std::string_view content, std::uint16_t id = 1,
                   std::size_t chunk = 65535) {
    std::string out;
    for (std::size_t at = 0; at < content.size(); at += chunk) {
        out += record(type, id, content.substr(at, chunk), static_cast<std::uint8_t>(at % 7));
    }
    return out + record(type, id, "");
}

std::string params(const std::vector<std::pair<std::string, std::string>>& pairs,
                   std::uint16_t id = 1) {
    std::string encoded;
    for (const auto& [name, value] : pairs) {
        encoded += pair(name, value);
    }
    return stream(4, encoded, id, 1000); // pairs split across records too
}

const std::string body = R"({"signature": {}, "event-data": {"event": "delivered"}})";

std::string whole_request(std::uint16_t id = 1) {
    return begin(id) +
           params({{"REQUEST_METHOD", "POST"},
                   {"DOCUMENT_URI", "/api/v1/wh/mg/events"},
                   {"CONTENT_LENGTH", std::to_string(body.size())}},
                  id) +
           stream(5, body, id, 10);
}

/// Feeds `input` in pieces of `piece` bytes, admitting the declared body;
/// the request, or the step that ended it otherwise.
struct Read {
    Step step = Step::more;
    fcgi::IncomingRequest request;
    std::string replies;
};

Read read_all(RequestReader& reader, std::string_view input, std::size_t piece) {
    Read result;
    while (true) {
        std::string_view chunk = input.substr(0, piece);
        const std::size_t offered = chunk.size();
        result.step = reader.consume(chunk);
        input.remove_prefix(offered - chunk.size());
        result.replies += reader.replies();
        reader.replies().clear();
        if (result.step == Step::params) {
            reader.admit_body(body.size());
            continue;
        }
        if (result.step == Step::ready) {
            result.request = reader.take();
            return result;
        }
        if (result.step == Step::close || input.empty()) {
            return result;
        }
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(protocol)

BOOST_AUTO_TEST_CASE(a_request_reads_the_same_in_any_pieces) {
    const std::string input = whole_request();
    for (const std::size_t piece :
         {std::size_t{1}, std::size_t{3}, std::size_t{8}, std::size_t{100}, input.size()}) {
        RequestReader reader({});
        const Read read = read_all(reader, input, piece);
        BOOST_TEST_REQUIRE((read.step == Step::ready), "pieces of " << piece);
        BOOST_TEST(read.request.id == 1);
        BOOST_TEST(read.request.keep_connection);
        BOOST_TEST(read.request.body == body);
        BOOST_TEST(read.request.error.empty());
        BOOST_TEST_REQUIRE(read.request.params.size() == 3u);
        BOOST_TEST(read.request.params[1].second == "/api/v1/wh/mg/events");
        BOOST_TEST(reader.reusable());
        BOOST_TEST(!reader.mid_request());
    }
}

BOOST_AUTO_TEST_CASE(the_next_request_waits_where_the_first_ended) {
    RequestReader reader({});
    const std::string two = whole_request() + whole_request(2);
    std::string_view input = two;
    Step step = reader.consume(input);
    BOOST_TEST((step == Step::params));
    reader.admit_body(body.size());
    BOOST_TEST((reader.consume(input) == Step::ready));
    BOOST_TEST(reader.take().id == 1);
    BOOST_TEST(input.size() == whole_request(2).size()); // untouched
    BOOST_TEST((reader.consume(input) == Step::params));
    reader.admit_body(body.size());
    BOOST_TEST((reader.consume(input) == Step::ready));
    BOOST_TEST(reader.take().id == 2);
}

BOOST_AUTO_TEST_CASE(a_body_not_as_declared_is_an_error_and_ends_the_connection) {
    for (const std::size_t declared : {body.size() - 1, body.size() + 1}) {
        RequestReader reader({});
        std::string input_text = whole_request();
        std::string_view input = input_text;
        BOOST_TEST((reader.consume(input) == Step::params));
        reader.admit_body(declared);
        BOOST_TEST((reader.consume(input) == Step::ready));
        const auto request = reader.take();
        BOOST_TEST(!request.error.empty(), declared);
        // Never more than was admitted, and as much of it however it came.
        BOOST_TEST(request.body == body.substr(0, std::min(declared, body.size())));
        BOOST_TEST(!reader.reusable());
    }
}

BOOST_AUTO_TEST_CASE(eof_before_the_body_ends_is_an_error_between_requests_a_close) {
    RequestReader reader({});
    const std::string text = whole_request();
    std::string_view input = std::string_view(text).substr(0, text.size() - 20);
    BOOST_TEST((reader.consume(input) == Step::params));
    reader.admit_body(body.size());
    BOOST_TEST((reader.consume(input) == Step::more));
    BOOST_TEST(reader.mid_request());
    BOOST_TEST((reader.end_of_input() == Step::ready));
    BOOST_TEST(reader.take().error.starts_with("request body broke off after"));

    RequestReader idle({});
    BOOST_TEST((idle.end_of_input() == Step::close));
    BOOST_TEST(idle.problem().empty()); // routine: the web server let go
    RequestReader half({});
    std::string_view header = std::string_view(text).substr(0, 3);
    BOOST_TEST((half.consume(header) == Step::more));
    BOOST_TEST((half.end_of_input() == Step::close));
    BOOST_TEST(!half.problem().empty());
}

BOOST_AUTO_TEST_CASE(parameters_over_their_bounds_are_an_error_not_kept) {
    const fcgi::ProtocolLimits limits{.max_params_bytes = 1000, .max_param_bytes = 100};
    {
        RequestReader reader(limits);
        const std::string text = begin() + params({{"HTTP_X_BIG", std::string(2000, 'x')}});
        std::string_view input = text;
        BOOST_TEST((reader.consume(input) == Step::ready));
        const auto request = reader.take();
        BOOST_TEST(request.error == "FastCGI parameters over 1000 bytes");
        BOOST_TEST(request.params.empty());
        BOOST_TEST(!reader.reusable());
    }
    {
        RequestReader reader(limits);
        const std::string text = begin() + params({{"HTTP_X_ONE", std::string(200, 'x')}});
        std::string_view input = text;
        BOOST_TEST((reader.consume(input) == Step::ready));
        BOOST_TEST(reader.take().error == "a FastCGI parameter over 100 bytes");
    }
}

BOOST_AUTO_TEST_CASE(management_records_are_answered_multiplexing_refused) {
    RequestReader reader(
        {.max_params_bytes = 1 << 18, .max_param_bytes = 1 << 16, .max_requests = 7});
    const std::string text =
        record(9, 0,
               pair("FCGI_MAX_CONNS", "") + pair("FCGI_BOGUS", "") + pair("FCGI_MPXS_CONNS", "")) +
        record(99, 0, "") + begin(1) + begin(2) + record(5, 9, "stray") +
        params({{"CONTENT_LENGTH", "0"}}) + record(5, 1, "");
    std::string_view input = text;
    BOOST_TEST((reader.consume(input) == Step::params));
    reader.admit_body(0);
    BOOST_TEST((reader.consume(input) == Step::ready));
    const std::string expected =
        record(10, 0, pair("FCGI_MAX_CONNS", "7") + pair("FCGI_MPXS_CONNS", "0")) +
        record(11, 0, std::string{99, 0, 0, 0, 0, 0, 0, 0}) +
        record(3, 2, std::string{0, 0, 0, 0, 1, 0, 0, 0}); // FCGI_CANT_MPX_CONN
    BOOST_TEST(reader.replies() == expected);
    BOOST_TEST(reader.take().id == 1);
}

BOOST_AUTO_TEST_CASE(what_is_not_a_responders_stream_closes_the_connection) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"version 2", "\x02" + begin().substr(1)},
        {"begin of 5 bytes", record(1, 1, std::string(5, '\0'))},
        {"the authorizer role", begin(1, 2)},
        {"begin with id 0", begin(0)},
        {"begun twice", begin(1) + begin(1)},
        {"lengths past the stream", begin() + stream(4, "\x7f\x05REQUEST")},
        {"2 GiB lengths", begin() + stream(4, std::string(8, '\xff') + std::string(64, 'x'))},
        {"stdout from the web server", begin() + record(6, 1, "x")},
        {"stdin before the params end", begin() + record(5, 1, "x")},
        {"aborted", begin() + record(2, 1, "")},
    };
    for (const auto& [name, text] : cases) {
        RequestReader reader({});
        std::string_view input = text;
        Step step = reader.consume(input);
        BOOST_TEST((step == Step::close), name);
        BOOST_TEST(!reader.problem().empty(), name);
    }
}

BOOST_AUTO_TEST_CASE(a_refused_body_is_never_read) {
    RequestReader reader({});
    const std::string text = whole_request() + "garbage that is never looked at";
    std::string_view input = text;
    BOOST_TEST((reader.consume(input) == Step::params));
    reader.refuse_body();
    BOOST_TEST((reader.consume(input) == Step::ready));
    const auto request = reader.take();
    BOOST_TEST(request.body.empty());
    BOOST_TEST(!reader.reusable());
    BOOST_TEST((reader.consume(input) == Step::close));
}

BOOST_AUTO_TEST_CASE(an_answer_is_stdout_records_its_end_and_end_request) {
    const std::string small = fcgi::encode_response(3, "Status: 200 OK\r\n\r\n");
    BOOST_TEST(small == record(6, 3, "Status: 200 OK\r\n\r\n") + record(6, 3, "") +
                            record(3, 3, std::string(8, '\0')));
    const std::string big(70000, 'b');
    const std::string split = fcgi::encode_response(1, big);
    BOOST_TEST(split == record(6, 1, big.substr(0, 65535)) + record(6, 1, big.substr(65535)) +
                            record(6, 1, "") + record(3, 1, std::string(8, '\0')));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_protocol
