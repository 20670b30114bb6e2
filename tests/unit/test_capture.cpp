// Capture mode's file format: an HTTP/1.1 request message that reads like
// what was sent, with leadhook's metadata in X-Leadhook-* lines.
#include "app/router.hpp"
#include "capture/capture_format.hpp"
#include "http/cgi_headers.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_capture {

namespace cap = leadhook::capture;
namespace app = leadhook::app;
using leadhook::http::Request;

namespace {

Request json_request() {
    return Request{.method = "POST",
                   .path = "/api/v1/wh/mg/events",
                   .content_type = "application/json",
                   .body = "{\"a\":1}",
                   .remote_addr = "203.0.113.5",
                   .request_id = "5f0c1e",
                   .received_at = *leadhook::parse_rfc3339("2026-11-29T07:30:00.123456Z"),
                   .headers = {{"User-Agent", "mailgun/treq-16.12.0"}}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(capture)

BOOST_AUTO_TEST_CASE(a_request_is_written_as_an_http_message_with_its_metadata) {
    BOOST_TEST(cap::format_capture(json_request()) ==
               "POST /api/v1/wh/mg/events HTTP/1.1\r\n"
               "Content-Type: application/json\r\n"
               "Content-Length: 7\r\n"
               "User-Agent: mailgun/treq-16.12.0\r\n"
               "X-Leadhook-Received-At: 2026-11-29T07:30:00.123456Z\r\n"
               "X-Leadhook-Remote-Addr: 203.0.113.5\r\n"
               "X-Leadhook-Request-Id: 5f0c1e\r\n"
               "\r\n"
               "{\"a\":1}");
}

BOOST_AUTO_TEST_CASE(the_body_is_byte_exact_and_header_values_lose_control_characters) {
    Request r = json_request();
    r.body = std::string("a\r\n\0\xff", 5);
    r.content_type = "multipart/form-data; boundary=x\r\nX-Injected: 1";
    r.headers = {{"User-Agent", "evil\nX-Forged: yes"}};
    const std::string text = cap::format_capture(r);
    BOOST_TEST(text.ends_with(std::string("\r\n\r\na\r\n\0\xff", 9)));
    BOOST_TEST(text.find("Content-Length: 5\r\n") != std::string::npos);
    BOOST_TEST(text.find("Content-Type: multipart/form-data; boundary=xX-Injected: 1\r\n") !=
               std::string::npos);
    BOOST_TEST(text.find("User-Agent: evilX-Forged: yes\r\n") != std::string::npos);
    BOOST_TEST(text.find("\nX-Forged") == std::string::npos);
    BOOST_TEST(text.find("\nX-Injected") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_body_over_the_limit_is_noted_not_kept) {
    Request r = json_request();
    r.body.clear();
    r.body_too_large = true;
    const std::string text = cap::format_capture(r);
    BOOST_TEST(text.find("Content-Length: 0\r\n") != std::string::npos);
    BOOST_TEST(text.ends_with("X-Leadhook-Body-Omitted: larger than max_body_bytes\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(a_body_left_unread_or_cut_off_is_noted_not_kept) {
    Request unread = json_request();
    unread.body.clear();
    unread.over_budget = true;
    const std::string busy = cap::format_capture(unread);
    BOOST_TEST(busy.find("Content-Length: 0\r\n") != std::string::npos);
    BOOST_TEST(
        busy.ends_with("X-Leadhook-Body-Omitted: not read: max_bytes_in_flight reached\r\n\r\n"));

    Request cut = json_request(); // 7 bytes of a body that said it had more
    cut.body_error = "request body is 7 bytes but CONTENT_LENGTH says 9";
    const std::string text = cap::format_capture(cut);
    BOOST_TEST(text.find("Content-Length: 0\r\n") != std::string::npos);
    BOOST_TEST(text.ends_with("X-Leadhook-Body-Omitted: not as declared: request body is 7 "
                              "bytes but CONTENT_LENGTH says 9\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(file_names_sort_by_arrival_and_carry_a_safe_request_id) {
    Request r = json_request();
    BOOST_TEST(cap::capture_file_name(r) == "20261129T073000.123456Z-5f0c1e.http");
    r.request_id = "../../etc/passwd x";
    BOOST_TEST(cap::capture_file_name(r) == "20261129T073000.123456Z-....etcpasswdx.http");
    r.request_id = "";
    BOOST_TEST(cap::capture_file_name(r) == "20261129T073000.123456Z-request.http");
    r.request_id = std::string(100, 'a');
    BOOST_TEST(cap::capture_file_name(r) ==
               "20261129T073000.123456Z-" + std::string(64, 'a') + ".http");
}

BOOST_AUTO_TEST_CASE(webhooks_and_unknown_paths_are_captured_polled_routes_are_not) {
    Request r = json_request();
    for (const char* path : {"/api/v1/wh/mg/events", "/api/v1/wh/mg/lead/email/delivered",
                             "/api/v1/wh/mg/wrong", "/"}) {
        r.path = path;
        BOOST_TEST(app::worth_capturing(r.path), path);
    }
    for (const char* path : {"/api/v1/health", "/api/v1/ready", "/api/v1/metrics", "/api/v1"}) {
        r.path = path;
        BOOST_TEST(!app::worth_capturing(r.path), path);
    }
}

BOOST_AUTO_TEST_CASE(kept_headers_come_from_the_fastcgi_parameters) {
    const leadhook::http::Headers params{
        {"REQUEST_METHOD", "POST"},        {"HTTP_USER_AGENT", "mailgun/treq-16.12.0"},
        {"HTTP_COOKIE", "secret"},         {"HTTP_X_FORWARDED_FOR", "203.0.113.5, 10.0.0.1"},
        {"HTTP_X_MAILGUN_SID", "abc="},    {"HTTP_AUTHORIZATION", "Basic x"},
        {"HTTP_X_REAL_IP", "203.0.113.5"}, {"HTTP_", "nameless"}};
    const leadhook::http::Headers expected{{"User-Agent", "mailgun/treq-16.12.0"},
                                           {"X-Forwarded-For", "203.0.113.5, 10.0.0.1"},
                                           {"X-Mailgun-Sid", "abc="},
                                           {"X-Real-Ip", "203.0.113.5"}};
    BOOST_TEST((leadhook::http::kept_headers(params) == expected));
    BOOST_TEST(leadhook::http::kept_headers({}).empty());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_capture
