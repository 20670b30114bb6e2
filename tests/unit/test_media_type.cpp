#include "body/media_type.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_media_type {

using namespace leadhook::body;

namespace {

std::string error_of(std::string_view header_value) {
    auto parsed = parse_media_type(header_value);
    return parsed ? "<parsed>" : parsed.error().message;
}

std::string param_of(const MediaType& media, std::string_view name) {
    const std::string* value = media.param(name);
    return value != nullptr ? *value : "<absent>";
}

MediaType parse_ok(std::string_view header_value) {
    auto parsed = parse_media_type(header_value);
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << (parsed ? "" : parsed.error().message));
    return std::move(parsed).value();
}

} // namespace

BOOST_AUTO_TEST_SUITE(media_type)

BOOST_AUTO_TEST_CASE(multipart_with_bare_boundary) {
    const MediaType media = parse_ok("multipart/form-data; boundary=BoUnDaRyStRiNg");
    BOOST_TEST(media.essence == "multipart/form-data");
    BOOST_TEST(media.params.size() == 1u);
    BOOST_TEST(param_of(media, "boundary") == "BoUnDaRyStRiNg");
}

BOOST_AUTO_TEST_CASE(essence_and_names_are_lower_cased_values_keep_case) {
    const MediaType media = parse_ok("Application/X-WWW-Form-URLEncoded; CharSet=UTF-8");
    BOOST_TEST(media.essence == "application/x-www-form-urlencoded");
    BOOST_TEST(media.params.at(0).first == "charset");
    BOOST_TEST(media.params.at(0).second == "UTF-8");
    BOOST_TEST(param_of(media, "CHARSET") == "UTF-8");
    BOOST_TEST(param_of(media, "boundary") == "<absent>");
}

BOOST_AUTO_TEST_CASE(quoted_boundary_with_escapes_and_separators) {
    const MediaType media =
        parse_ok(R"(multipart/form-data; boundary="a \"quoted\" b\\c;d=e"; charset=utf-8)");
    BOOST_TEST(param_of(media, "boundary") == R"(a "quoted" b\c;d=e)");
    BOOST_TEST(param_of(media, "charset") == "utf-8");
    BOOST_TEST(parse_ok(R"(text/plain; a="")").params.at(0).second == "");
}

BOOST_AUTO_TEST_CASE(odd_whitespace_is_tolerated) {
    const MediaType media =
        parse_ok(" \tmultipart/form-data \t;\t boundary = \"x y\" ;charset =utf-8 ");
    BOOST_TEST(media.essence == "multipart/form-data");
    BOOST_TEST(param_of(media, "boundary") == "x y");
    BOOST_TEST(param_of(media, "charset") == "utf-8");
}

BOOST_AUTO_TEST_CASE(empty_parameters_are_skipped) {
    BOOST_TEST(parse_ok("text/plain;").params.empty());
    const MediaType media = parse_ok("text/plain;; ;charset=utf-8;");
    BOOST_TEST(media.params.size() == 1u);
    BOOST_TEST(param_of(media, "charset") == "utf-8");
}

BOOST_AUTO_TEST_CASE(parameters_keep_arrival_order) {
    const MediaType media = parse_ok("multipart/mixed; z=1; a=2; m=3");
    BOOST_TEST_REQUIRE(media.params.size() == 3u);
    BOOST_TEST(media.params[0].first == "z");
    BOOST_TEST(media.params[1].first == "a");
    BOOST_TEST(media.params[2].second == "3");
}

BOOST_AUTO_TEST_CASE(unquoted_values_may_hold_separators_real_clients_send) {
    BOOST_TEST(param_of(parse_ok("multipart/form-data; boundary=a/b=c:d?e"), "boundary") ==
               "a/b=c:d?e");
}

BOOST_AUTO_TEST_CASE(malformed_essence_is_rejected) {
    BOOST_TEST(error_of("textplain") == "media type has no '/' between type and subtype");
    BOOST_TEST(error_of("") == "media type has no '/' between type and subtype");
    BOOST_TEST(error_of("/plain") == "media type has an empty type or subtype");
    BOOST_TEST(error_of("text/; charset=utf-8") == "media type has an empty type or subtype");
    BOOST_TEST(error_of("text/plain/x") ==
               "media type contains a character not allowed in a token");
    BOOST_TEST(error_of("text / plain") ==
               "media type contains a character not allowed in a token");
}

BOOST_AUTO_TEST_CASE(malformed_parameters_are_rejected) {
    BOOST_TEST(error_of("text/plain; charset") ==
               "parameter 'charset' has no '=' at byte offset 12");
    BOOST_TEST(error_of("text/plain; charset=") ==
               "parameter 'charset' has no value at byte offset 20");
    BOOST_TEST(error_of("text/plain; =utf-8") == "expected a parameter name at byte offset 12");
    BOOST_TEST(error_of(R"(text/plain; a="open)") ==
               "unterminated quoted string starting at byte offset 14");
    BOOST_TEST(error_of(R"(text/plain; a="ends in backslash\)") ==
               "unterminated quoted string starting at byte offset 14");
    BOOST_TEST(error_of("text/plain; a=\"x\ry\"") ==
               "control character in quoted string at byte offset 16");
    BOOST_TEST(error_of("text/plain; a=b c") ==
               "expected ';' before the next parameter at byte offset 16");
    BOOST_TEST(error_of(R"(text/plain; a="b"c)") ==
               "expected ';' before the next parameter at byte offset 17");
}

BOOST_AUTO_TEST_CASE(repeated_parameter_is_ambiguous) {
    BOOST_TEST(error_of("multipart/form-data; boundary=a; Boundary=b") ==
               "repeated parameter 'boundary' at byte offset 33");
}

BOOST_AUTO_TEST_CASE(parameter_count_is_bounded) {
    std::string header = "text/plain";
    for (std::size_t i = 0; i < max_header_parameters; ++i) {
        header += "; p" + std::to_string(i) + "=v";
    }
    BOOST_TEST(parse_ok(header).params.size() == max_header_parameters);
    header += "; one=toomany";
    BOOST_TEST(error_of(header).find("more than 32 parameters") == 0u);
}

BOOST_AUTO_TEST_CASE(content_disposition_shares_the_parameter_grammar) {
    auto parsed = parse_parameterized(R"( form-data ; name="file"; filename="a;b.txt")");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->head == "form-data");
    BOOST_TEST_REQUIRE(parsed->params.size() == 2u);
    BOOST_TEST(*find_parameter(parsed->params, "NAME") == "file");
    BOOST_TEST(*find_parameter(parsed->params, "filename") == "a;b.txt");
    BOOST_TEST(find_parameter(parsed->params, "size") == nullptr);
}

BOOST_AUTO_TEST_CASE(token_and_case_helpers) {
    BOOST_TEST(is_token("form-data"));
    BOOST_TEST(!is_token(""));
    BOOST_TEST(!is_token("a b"));
    BOOST_TEST(!is_token("a/b"));
    BOOST_TEST(equals_ignoring_ascii_case("Content-Disposition", "content-DISPOSITION"));
    BOOST_TEST(!equals_ignoring_ascii_case("content-type", "content-typ"));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_media_type
