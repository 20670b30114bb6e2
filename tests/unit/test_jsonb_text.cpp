// The text of a jsonb value: the same bytes nlohmann's dump() gives for
// JSON PostgreSQL accepts, and storable text for what it rejects (invalid
// UTF-8, NUL). No database.
#include "storage/jsonb_text.hpp"
#include "support.hpp"
#include "util/utf8.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_jsonb_text {

using leadhook::to_storable_utf8;
using leadhook::test::corpus_dir;
using leadhook::test::read_file;
using nlohmann::json;

namespace {

/// The function under test (the suite below is a namespace of its name).
std::string text_of(const auto& value) {
    return leadhook::storage::jsonb_text(value);
}

/// Strings PostgreSQL refuses or JSON must escape, and some it takes as they are.
const std::vector<std::string> awkward_strings = {
    std::string("a\0b", 3),             // NUL
    "\xff",                             // never valid
    "\xc3\x28",                         // a lead byte without its continuation
    "\xc0\xaf",                         // overlong '/'
    "\xed\xa0\x80",                     // a UTF-16 surrogate
    "\xf4\x90\x80\x80",                 // past U+10FFFF
    "\xe2\x82",                         // cut short at the end
    "\x01\x08\x09\x0a\x0c\x0d\x1f\x7f", // control characters
    "\"quoted\" \\ back\\slash /",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", // é € 😀
    "",
};

} // namespace

BOOST_AUTO_TEST_SUITE(jsonb_text)

BOOST_AUTO_TEST_CASE(corpus_json_comes_out_as_dump_gives_it) {
    int checked = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus_dir())) {
        if (entry.path().extension() != ".json") {
            continue;
        }
        const json value = json::parse(read_file(entry.path()), nullptr, false);
        if (value.is_discarded()) {
            continue;
        }
        BOOST_TEST_CONTEXT(entry.path().filename()) {
            BOOST_TEST(text_of(value) == value.dump());
        }
        ++checked;
    }
    BOOST_TEST(checked >= 20);
}

BOOST_AUTO_TEST_CASE(strings_are_escaped_and_made_storable) {
    for (const std::string& raw : awkward_strings) {
        BOOST_TEST_CONTEXT("string of " << raw.size() << " bytes") {
            const std::string text = text_of(json(raw));
            BOOST_TEST(text.find("\\u0000") == std::string::npos);
            BOOST_TEST(json::parse(text).get<std::string>() == to_storable_utf8(raw));
            if (to_storable_utf8(raw) == raw) {
                BOOST_TEST(text == json(raw).dump());
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(keys_and_nested_values_are_made_storable_too) {
    json value = json::object();
    value[std::string("k\xff", 2)] = json::array({std::string("v\0w", 3), 1.5, -2, nullptr});
    value["nested"] = {{"t", true}, {std::string("\xc3", 1), {{"deep", "\xfe"}}}};
    const json parsed = json::parse(text_of(value));
    BOOST_TEST(parsed.at("k\xef\xbf\xbd").dump() == "[\"v\xef\xbf\xbdw\",1.5,-2,null]");
    BOOST_TEST(parsed.at("nested").at("\xef\xbf\xbd").at("deep") == "\xef\xbf\xbd");
    BOOST_TEST(parsed.at("nested").at("t") == true);
}

BOOST_AUTO_TEST_CASE(tags_as_an_array_of_strings) {
    BOOST_TEST(text_of(std::vector<std::string>{}) == "[]");
    BOOST_TEST(text_of(std::vector<std::string>{"p", "q\"r", "t\xff"}) ==
               "[\"p\",\"q\\\"r\",\"t\xef\xbf\xbd\"]");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_jsonb_text
