#include "body/form.hpp"

#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_form {

using namespace leadhook::body;
using leadhook::test::corpus_files;
using leadhook::test::read_file;
using leadhook::test::text_of;

namespace {

Fields parse_ok(std::string_view body, const Limits& limits = {}) {
    auto parsed = parse_urlencoded(body, limits);
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << (parsed ? "" : parsed.error().message));
    return std::move(parsed).value();
}

std::string error_of(std::string_view body, const Limits& limits = {}) {
    auto parsed = parse_urlencoded(body, limits);
    return parsed ? "<parsed>" : parsed.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(form)

BOOST_AUTO_TEST_CASE(simple_pairs_in_order) {
    const Fields fields = parse_ok("event=delivered&recipient=a%40example.com");
    BOOST_TEST_REQUIRE(fields.size() == 2u);
    BOOST_TEST(fields[0].name == "event");
    BOOST_TEST(fields[0].value == "delivered");
    BOOST_TEST(fields[0].size == 9u);
    BOOST_TEST(!fields[0].filename.has_value());
    BOOST_TEST(fields[1].name == "recipient");
    BOOST_TEST(fields[1].value == "a@example.com");
    BOOST_TEST(fields[1].size == 13u);
}

BOOST_AUTO_TEST_CASE(repeated_names_are_all_kept) {
    const Fields fields = parse_ok("tag=a&token=1&tag=b&token=2");
    BOOST_TEST(all(fields, "tag") == (std::vector<std::string>{"a", "b"}),
               boost::test_tools::per_element());
    BOOST_TEST(text_of(first(fields, "token")) == "1");
    BOOST_TEST(text_of(last(fields, "token")) == "2");
}

BOOST_AUTO_TEST_CASE(plus_is_space_but_percent_2b_is_plus) {
    const Fields fields = parse_ok("a=1+2&b=1%2B2&c=1%2b2&d+e=%20+");
    BOOST_TEST(text_of(first(fields, "a")) == "1 2");
    BOOST_TEST(text_of(first(fields, "b")) == "1+2");
    BOOST_TEST(text_of(first(fields, "c")) == "1+2");
    BOOST_TEST(text_of(first(fields, "d e")) == "  ");
}

BOOST_AUTO_TEST_CASE(hex_digits_of_either_case) {
    const Fields fields = parse_ok("x=%7e%7E%4a%4A%aF%Fa");
    BOOST_TEST(text_of(first(fields, "x")) == "~~JJ\xaf\xfa");
    BOOST_TEST(fields[0].size == 6u);
}

BOOST_AUTO_TEST_CASE(utf8_and_arbitrary_bytes_pass_through) {
    const Fields fields = parse_ok("name=J%C3%BCrgen&raw=\xff\xfe&nul=a%00b&%E2%9C%93=ok");
    BOOST_TEST(text_of(first(fields, "name")) == "J\xC3\xBCrgen");
    BOOST_TEST(fields[0].size == 7u);
    BOOST_TEST(text_of(first(fields, "raw")) == "\xff\xfe");
    BOOST_TEST(text_of(first(fields, "nul")) == std::string("a\0b", 3));
    BOOST_TEST(fields[2].size == 3u);
    BOOST_TEST(text_of(first(fields, "\xE2\x9C\x93")) == "ok");
}

BOOST_AUTO_TEST_CASE(missing_equals_and_empty_pairs) {
    const Fields fields = parse_ok("&&flag&a=&&b==c&");
    BOOST_TEST_REQUIRE(fields.size() == 3u);
    BOOST_TEST(fields[0].name == "flag");
    BOOST_TEST(fields[0].value == "");
    BOOST_TEST(fields[0].size == 0u);
    BOOST_TEST(fields[1].name == "a");
    BOOST_TEST(fields[1].value == "");
    BOOST_TEST(fields[2].name == "b");
    BOOST_TEST(fields[2].value == "=c");
}

BOOST_AUTO_TEST_CASE(empty_input_has_no_fields) {
    BOOST_TEST(parse_ok("").empty());
    BOOST_TEST(parse_ok("&").empty());
    BOOST_TEST(parse_ok("&&&").empty());
}

BOOST_AUTO_TEST_CASE(malformed_escapes_name_the_offset) {
    BOOST_TEST(error_of("a=%") == "truncated percent-escape at byte offset 2");
    BOOST_TEST(error_of("a=%4") == "truncated percent-escape at byte offset 2");
    BOOST_TEST(error_of("a=%zz") ==
               "percent-escape not followed by two hex digits at byte offset 2");
    BOOST_TEST(error_of("a=%4g&b=1") ==
               "percent-escape not followed by two hex digits at byte offset 2");
    BOOST_TEST(error_of("ok=1&x%=2") == "truncated percent-escape at byte offset 6");
    BOOST_TEST(error_of("ok=1&b=12%4&c=3") == "truncated percent-escape at byte offset 9");
    BOOST_TEST(error_of("a=%%41") ==
               "percent-escape not followed by two hex digits at byte offset 2");
}

BOOST_AUTO_TEST_CASE(empty_name_is_an_error) {
    BOOST_TEST(error_of("=value") == "field with an empty name at byte offset 0");
    BOOST_TEST(error_of("a=1&=2") == "field with an empty name at byte offset 4");
    BOOST_TEST(error_of("a=1&=") == "field with an empty name at byte offset 4");
}

BOOST_AUTO_TEST_CASE(field_count_limit) {
    const Limits limits{2, 256};
    BOOST_TEST(parse_ok("a=1&&b=2&", limits).size() == 2u);
    BOOST_TEST(error_of("a=1&b=2&c=3", limits) == "more than 2 form fields");
    BOOST_TEST(error_of("a=1", Limits{0, 256}) == "more than 0 form fields");
}

BOOST_AUTO_TEST_CASE(name_length_limit_counts_decoded_bytes) {
    const Limits limits{10, 3};
    BOOST_TEST(parse_ok("abc=1&%61%62%63=2", limits).size() == 2u);
    BOOST_TEST(error_of("a=1&abcd=1", limits) == "field name longer than 3 bytes at byte offset 4");
    BOOST_TEST(parse_ok("a=" + std::string(10000, 'v'), limits)[0].size == 10000u);
}

BOOST_AUTO_TEST_CASE(every_form_in_the_corpus_parses_with_a_signature) {
    const auto paths = corpus_files(".form");
    BOOST_TEST(paths.size() >= 7u);
    for (const auto& path : paths) {
        BOOST_TEST_CONTEXT(path.filename().string()) {
            auto parsed = parse_urlencoded(read_file(path));
            BOOST_TEST_REQUIRE(parsed.has_value());
            BOOST_TEST(!text_of(last(*parsed, "timestamp")).empty());
            BOOST_TEST(!text_of(last(*parsed, "token")).empty());
            BOOST_TEST(text_of(last(*parsed, "signature")).size() == 64u);
        }
    }
}

BOOST_AUTO_TEST_CASE(corpus_user_variable_collisions) {
    const std::string body = read_file(std::filesystem::path(LEADHOOK_CORPUS_DIR) /
                                       "anymail-legacy__clicked-user-var-name-collisions.form");
    const Fields fields = parse_ok(body);
    BOOST_TEST(text_of(last(fields, "token")) == "actual-event-token");
    BOOST_TEST(text_of(first(fields, "token")) == "metadata-token");
    BOOST_TEST(text_of(last(fields, "timestamp")) == "1461261330");
    BOOST_TEST(text_of(first(fields, "event")) == "clicked");
    BOOST_TEST(text_of(first(fields, "url")) == "http://clicked.example.com/actual/event/param");
    BOOST_TEST(all(fields, "tag") == (std::vector<std::string>{"actual-tag-1", "actual-tag-2"}),
               boost::test_tools::per_element());
    BOOST_TEST(text_of(first(fields, "ordinary field")) == "ordinary metadata value");
}

BOOST_AUTO_TEST_CASE(corpus_tags_and_signature_values) {
    const Fields fields = parse_ok(
        read_file(std::filesystem::path(LEADHOOK_CORPUS_DIR) / "anymail-legacy__opened-tags.form"));
    BOOST_TEST(all(fields, "tag") == (std::vector<std::string>{"tag1", "tag2"}),
               boost::test_tools::per_element());
    BOOST_TEST(text_of(last(fields, "signature")) ==
               "3b754b7c269e4c08fb3f5f36b2b5f98e45245965522dc16ca4c9faa0b11b557d");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_form
