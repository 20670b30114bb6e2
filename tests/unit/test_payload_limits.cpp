// The body limits, applied through parse_payload as the handler applies
// them: each is reached at N and refused at N + 1 as Unprocessable (406).
#include "mailgun/payload.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_payload_limits {

using namespace leadhook;
using body::Limits;
using mailgun::parse_payload;

namespace {

std::string form_with(std::size_t fields) {
    std::string body;
    for (std::size_t i = 0; i < fields; ++i) {
        body += (i ? "&f" : "f") + std::to_string(i) + "=v";
    }
    return body;
}

std::string multipart_with(std::size_t parts) {
    std::string body;
    for (std::size_t i = 0; i < parts; ++i) {
        body += "--BoUnDaRyStRiNg\r\nContent-Disposition: form-data; name=\"f" + std::to_string(i) +
                "\"\r\n\r\nv\r\n";
    }
    return body + "--BoUnDaRyStRiNg--\r\n";
}

/// A JSON object whose "a" member nests arrays so the whole is `depth` deep.
std::string json_with_depth(std::size_t depth) {
    return R"({"a":)" + std::string(depth - 1, '[') + "1" + std::string(depth - 1, ']') + "}";
}

std::string outcome(std::string_view type, const std::string& body, const Limits& limits = {}) {
    auto parsed = parse_payload(type, body, limits);
    return parsed ? "<parsed>" : parsed.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(payload_limits)

BOOST_AUTO_TEST_CASE(default_limits) {
    BOOST_TEST(outcome(test::form_type, form_with(1000)) == "<parsed>");
    BOOST_TEST(outcome(test::form_type, form_with(1001)) == "more than 1000 form fields");
    BOOST_TEST(outcome(test::multipart_type, multipart_with(200)) == "<parsed>");
    BOOST_TEST(outcome(test::multipart_type, multipart_with(201)) ==
               "more than 200 multipart parts");
    BOOST_TEST(outcome(test::json_type, json_with_depth(64)) == "<parsed>");
    BOOST_TEST(outcome(test::json_type, json_with_depth(65)) ==
               "JSON nested deeper than 64 levels");
}

BOOST_AUTO_TEST_CASE(form_fields) {
    const Limits limits{.max_fields = 5};
    BOOST_TEST(outcome(test::form_type, form_with(5), limits) == "<parsed>");
    BOOST_TEST(outcome(test::form_type, form_with(6), limits) == "more than 5 form fields");
}

BOOST_AUTO_TEST_CASE(multipart_parts_and_fields) {
    BOOST_TEST(outcome(test::multipart_type, multipart_with(3), {.max_parts = 3}) == "<parsed>");
    BOOST_TEST(outcome(test::multipart_type, multipart_with(4), {.max_parts = 3}) ==
               "more than 3 multipart parts");
    BOOST_TEST(outcome(test::multipart_type, multipart_with(3), {.max_fields = 3}) == "<parsed>");
    BOOST_TEST(outcome(test::multipart_type, multipart_with(4), {.max_fields = 3}) ==
               "more than 3 multipart fields");
}

BOOST_AUTO_TEST_CASE(json_depth) {
    const Limits limits{.max_json_depth = 4};
    BOOST_TEST(outcome(test::json_type, json_with_depth(4), limits) == "<parsed>");
    BOOST_TEST(outcome(test::json_type, json_with_depth(5), limits) ==
               "JSON nested deeper than 4 levels");
    // A real webhook fits the default and needs more than a token depth.
    const std::string sample = test::corpus("anymail__delivered.json");
    BOOST_TEST(outcome(test::json_type, sample) == "<parsed>");
    BOOST_TEST(outcome(test::json_type, sample, {.max_json_depth = 2}) ==
               "JSON nested deeper than 2 levels");
}

BOOST_AUTO_TEST_CASE(field_names) {
    BOOST_TEST(outcome(test::form_type, "abc=1", {.max_name_bytes = 3}) == "<parsed>");
    BOOST_TEST(outcome(test::form_type, "abcd=1", {.max_name_bytes = 3}) ==
               "field name longer than 3 bytes at byte offset 0");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_payload_limits
