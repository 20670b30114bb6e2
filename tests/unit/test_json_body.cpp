#include "body/json.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_json_body {

using leadhook::body::default_max_json_depth;
using leadhook::body::parse_json;

namespace {

/// `depth` nested arrays around a number: "[[[1]]]" for depth 3.
std::string nested_arrays(std::size_t depth) {
    return std::string(depth, '[') + "1" + std::string(depth, ']');
}

/// `depth` nested objects: {"a":{"a":{}}} for depth 3.
std::string nested_objects(std::size_t depth) {
    std::string text;
    for (std::size_t i = 1; i < depth; ++i) {
        text += R"({"a":)";
    }
    text += "{}";
    text += std::string(depth - 1, '}');
    return text;
}

std::string error_of(std::string_view text, std::size_t max_depth = default_max_json_depth) {
    auto parsed = parse_json(text, max_depth);
    return parsed ? "<parsed>" : parsed.error().message;
}

} // namespace

BOOST_AUTO_TEST_SUITE(json_body)

BOOST_AUTO_TEST_CASE(valid_object_is_parsed_with_its_values) {
    auto parsed = parse_json(R"({"event-data": {"event": "delivered", "timestamp": 1.5},
                                 "tags": ["a", "b"], "n": null})");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->is_object());
    BOOST_TEST(parsed->at("event-data").at("event").get<std::string>() == "delivered");
    BOOST_TEST(parsed->at("event-data").at("timestamp").get<double>() == 1.5);
    BOOST_TEST(parsed->at("tags").size() == 2u);
    BOOST_TEST(parsed->at("n").is_null());
}

BOOST_AUTO_TEST_CASE(non_object_documents_are_valid_json_here) {
    // Refusing non-objects is the payload layer's job; parse_json only parses.
    const std::vector<std::pair<std::string, nlohmann::json::value_t>> cases{
        {"[1, 2]", nlohmann::json::value_t::array},
        {R"("text")", nlohmann::json::value_t::string},
        {"42", nlohmann::json::value_t::number_unsigned},
        {"true", nlohmann::json::value_t::boolean},
        {"null", nlohmann::json::value_t::null},
    };
    for (const auto& [text, type] : cases) {
        BOOST_TEST_CONTEXT("input " << text) {
            auto parsed = parse_json(text);
            BOOST_TEST_REQUIRE(parsed.has_value());
            BOOST_TEST(!parsed->is_object());
            BOOST_TEST((parsed->type() == type));
        }
    }
}

BOOST_AUTO_TEST_CASE(invalid_json_is_an_error_saying_so) {
    const std::vector<std::string> cases{
        "",           "   ",
        "{",          R"({"a":})",
        R"({"a" 1})", R"({'a': 1})",
        "{} x",       "]]]",
        "[1, 2,]",    R"({"a": "unterminated)",
        "nul",        R"({"a":1,})",
    };
    for (const auto& text : cases) {
        BOOST_TEST_CONTEXT("input '" << text << "'") {
            BOOST_TEST(error_of(text) == "body is not valid JSON");
        }
    }
}

BOOST_AUTO_TEST_CASE(default_depth_limit_is_64) {
    BOOST_TEST(default_max_json_depth == 64u);
}

BOOST_AUTO_TEST_CASE(nesting_up_to_the_limit_is_accepted) {
    BOOST_TEST(parse_json(nested_arrays(64)).has_value());
    BOOST_TEST(parse_json(nested_objects(64)).has_value());
    BOOST_TEST(parse_json(nested_arrays(3), 3).has_value());
}

BOOST_AUTO_TEST_CASE(nesting_past_the_limit_is_rejected_with_a_clear_message) {
    BOOST_TEST(error_of(nested_arrays(65)) == "JSON nested deeper than 64 levels");
    BOOST_TEST(error_of(nested_objects(65)) == "JSON nested deeper than 64 levels");
    BOOST_TEST(error_of(nested_arrays(4), 3) == "JSON nested deeper than 3 levels");
    // Mixed arrays and objects count alike.
    BOOST_TEST(error_of(R"({"a":[{"b":[1]}]})", 3) == "JSON nested deeper than 3 levels");
    BOOST_TEST(parse_json(R"({"a":[{"b":[1]}]})", 4).has_value());
}

BOOST_AUTO_TEST_CASE(hostile_depth_is_refused_before_parsing) {
    // Far deeper than any recursion guard; also unbalanced, so only the
    // depth check can be what answers.
    BOOST_TEST(error_of(std::string(1000000, '[')) == "JSON nested deeper than 64 levels");
    BOOST_TEST(error_of(nested_arrays(100000)) == "JSON nested deeper than 64 levels");
}

BOOST_AUTO_TEST_CASE(depth_is_the_deepest_point_not_the_total) {
    // Many siblings at depth 2 are still depth 2.
    std::string wide = "[";
    for (int i = 0; i < 500; ++i) {
        wide += "[1],";
    }
    wide += "[1]]";
    BOOST_TEST(parse_json(wide, 2).has_value());
}

BOOST_AUTO_TEST_CASE(brackets_inside_strings_are_not_counted) {
    const std::string many_opens =
        R"({"a":")" + std::string(500, '[') + std::string(500, '{') + R"("})";
    auto parsed = parse_json(many_opens, 1);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->at("a").get<std::string>().size() == 1000u);
    // Closers inside a string must not lower the count either.
    BOOST_TEST(error_of(R"({"a":"]]]]}}}}","b":[[1]]})", 2) == "JSON nested deeper than 2 levels");
    BOOST_TEST(parse_json(R"({"a":"]]]]}}}}","b":[[1]]})", 3).has_value());
}

BOOST_AUTO_TEST_CASE(escaped_quotes_do_not_end_a_string) {
    // \" keeps the string open, so the brackets after it are still text.
    auto parsed = parse_json(R"({"a":"x\"[[[[\"y"})", 1);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->at("a").get<std::string>() == R"(x"[[[["y)");
    // An escaped backslash before the quote does end the string: the
    // brackets after it are structure and count.
    BOOST_TEST(error_of(R"({"a":"x\\","b":[[1]]})", 2) == "JSON nested deeper than 2 levels");
    BOOST_TEST(parse_json(R"({"a":"x\\","b":[[1]]})", 3).has_value());
    // A lone escaped quote followed by real nesting.
    BOOST_TEST(error_of(R"({"a":"\"","b":[[1]]})", 2) == "JSON nested deeper than 2 levels");
    BOOST_TEST(parse_json(R"({"a":"\"","b":[[1]]})", 3).has_value());
}

BOOST_AUTO_TEST_CASE(unicode_and_escapes_are_decoded) {
    auto parsed = parse_json(R"({"city":"Z\u00fcrich","raw":"M\u00fcnchen – ok"})");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->at("city").get<std::string>() == "Z\xC3\xBCrich");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_rejected_not_thrown) {
    // nlohmann rejects invalid UTF-8 in strings; it must come back as an error.
    BOOST_TEST(error_of("{\"a\":\"\xff\"}") == "body is not valid JSON");
}

BOOST_AUTO_TEST_CASE(a_repeated_key_is_refused_and_named) {
    BOOST_TEST(error_of(R"({"event-data":{"event":"delivered","event":"complained"}})") ==
               "JSON object repeats the key \"event\"");
    BOOST_TEST(error_of(R"({"a":1,"a":1})") == "JSON object repeats the key \"a\"");
    // Not printable, or long: not quoted back.
    BOOST_TEST(error_of("{\"\\u0000\":1,\"\\u0000\":2}") == "JSON object repeats the key");
    const std::string long_key(100, 'k');
    BOOST_TEST(error_of(R"({")" + long_key + R"(":1,")" + long_key + R"(":2})") ==
               "JSON object repeats the key");
}

BOOST_AUTO_TEST_CASE(the_same_key_in_different_objects_is_not_repeated) {
    auto parsed = parse_json(R"({"a":{"a":1,"b":{"a":2}},"b":[{"a":3},{"a":4}],"c":{"a":5}})");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->at("b").at(1).at("a").get<int>() == 4);
}

BOOST_AUTO_TEST_CASE(a_number_beyond_a_double_is_named_not_called_invalid) {
    const std::vector<std::string> texts{R"({"timestamp": 1e400})", R"({"n": -1e400})",
                                         R"({"code": 1)" + std::string(400, '0') + "}"};
    for (const std::string& text : texts) {
        BOOST_TEST_CONTEXT(text.substr(0, 20)) {
            BOOST_TEST(error_of(text) ==
                       "JSON number out of range (larger than a double can hold)");
        }
    }
    // Past 64 bits but within a double: a double, as before.
    auto parsed = parse_json(R"({"code": 123456789012345678901234567890})");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->at("code").is_number_float());
}

BOOST_AUTO_TEST_CASE(nesting_depth_counts_without_parsing) {
    BOOST_TEST(leadhook::body::nesting_depth(nested_arrays(100000)) == 100000u);
    BOOST_TEST(leadhook::body::nesting_depth(R"({"a":"[[[[","b":[{}]})") == 3u);
    BOOST_TEST(leadhook::body::nesting_depth("not json at all") == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_json_body
