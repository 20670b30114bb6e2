// Writing report tables: the aligned text table, CSV quoting (RFC 4180) and
// the JSON document, each checked byte for byte.
#include "report/format.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_report_format {

namespace lr = leadhook::report;
using leadhook::EpochMicros;

namespace {

EpochMicros at(const std::string& text) {
    return leadhook::parse_rfc3339(text).value_or(0);
}

lr::Table sample() {
    return lr::Table{"sample",
                     {{"id", lr::Align::right}, {"name"}, {"ok"}, {"when"}},
                     {{12LL, std::string("ann"), true, lr::Instant{at("2026-11-29T07:10:30Z")}},
                      {3LL, std::string("béatrice"), false, std::monostate{}}}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(report_format)

BOOST_AUTO_TEST_CASE(formats_are_named) {
    BOOST_TEST((lr::parse_format("table") == lr::Format::table));
    BOOST_TEST((lr::parse_format("csv") == lr::Format::csv));
    BOOST_TEST((lr::parse_format("json") == lr::Format::json));
    BOOST_TEST(!lr::parse_format("JSON").has_value());
    BOOST_TEST(!lr::parse_format("").has_value());
}

BOOST_AUTO_TEST_CASE(text_columns_align_by_characters_numbers_to_the_right) {
    // "béatrice" is 9 bytes but 8 characters wide.
    BOOST_TEST(lr::render_text(sample()) == "id  name      ok   when\n"
                                            "--  --------  ---  ----------------\n"
                                            "12  ann       yes  2026-11-29 07:10\n"
                                            " 3  béatrice  no\n"
                                            "(2 rows)\n");
}

BOOST_AUTO_TEST_CASE(text_of_an_empty_table_is_its_header) {
    const lr::Table empty{"daily", {{"day"}, {"event_type"}, {"count", lr::Align::right}}, {}};
    BOOST_TEST(lr::render_text(empty) == "day  event_type  count\n"
                                         "---  ----------  -----\n"
                                         "(0 rows)\n");
    lr::Table one = empty;
    one.rows.push_back({std::string("2026-11-01"), std::string("opened"), 1234LL});
    BOOST_TEST(lr::render_text(one) == "day         event_type  count\n"
                                       "----------  ----------  -----\n"
                                       "2026-11-01  opened       1234\n"
                                       "(1 row)\n");
}

BOOST_AUTO_TEST_CASE(text_cannot_drive_the_terminal) {
    const lr::Table table{"t",
                          {{"v"}},
                          {{std::string("a\x1b[2Jb\tc\nd\x7f"
                                        "e\xc2\x9b"
                                        "f")}}};
    BOOST_TEST(lr::render_text(table) == "v\n--------------\na?[2Jb?c?d?e?f\n(1 row)\n");
}

BOOST_AUTO_TEST_CASE(csv_quotes_only_what_needs_it_and_doubles_quotes) {
    BOOST_TEST(lr::render_csv(sample()) == "id,name,ok,when\r\n"
                                           "12,ann,true,2026-11-29T07:10:30Z\r\n"
                                           "3,béatrice,false,\r\n");
    const lr::Table tricky{
        "t",
        {{"a"}, {"b"}, {"c"}, {"d"}, {"e"}},
        {{std::string("x,y"), std::string("say \"hi\""), std::string("two\r\nlines"),
          std::string("lf\nonly"), std::string(" plain ")}}};
    BOOST_TEST(lr::render_csv(tricky) == "a,b,c,d,e\r\n"
                                         "\"x,y\",\"say \"\"hi\"\"\",\"two\r\nlines\","
                                         "\"lf\nonly\", plain \r\n");
}

BOOST_AUTO_TEST_CASE(json_keeps_column_order_types_and_the_filters) {
    lr::Filters applied;
    applied.range = {at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z")};
    applied.domain = "example.com";
    const std::string text = lr::render_json(sample(), applied);
    BOOST_TEST(text.back() == '\n');
    BOOST_TEST(text == R"({
  "report": "sample",
  "from": "2026-11-01",
  "to": "2026-12-01",
  "status": null,
  "domain": "example.com",
  "rows": [
    {
      "id": 12,
      "name": "ann",
      "ok": true,
      "when": "2026-11-29T07:10:30Z"
    },
    {
      "id": 3,
      "name": "béatrice",
      "ok": false,
      "when": null
    }
  ]
}
)");
}

BOOST_AUTO_TEST_CASE(json_of_nothing_is_an_empty_list_and_bad_utf8_does_not_throw) {
    const lr::Table empty{"leads", {{"id"}}, {}};
    const auto parsed = nlohmann::json::parse(lr::render_json(empty, {}));
    BOOST_TEST(parsed["rows"].is_array());
    BOOST_TEST(parsed["rows"].empty());
    BOOST_TEST(parsed["from"].is_null());
    const lr::Table bad{"t", {{"v"}}, {{std::string("a\xff")}}};
    nlohmann::json parsed_bad;
    BOOST_CHECK_NO_THROW(parsed_bad = nlohmann::json::parse(lr::render_json(bad, {})));
    BOOST_TEST(parsed_bad["rows"].size() == 1U);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_report_format
