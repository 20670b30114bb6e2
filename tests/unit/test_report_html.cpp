// The HTML report: escaping, the stacked-bar chart's geometry (heights in
// proportion, stacking order, empty and single days) and the page itself,
// which must be self-contained.
#include "report/chart.hpp"
#include "report/escape.hpp"
#include "report/html.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <regex>
#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_report_html {

namespace lr = leadhook::report;
using leadhook::EpochMicros;

namespace {

EpochMicros at(const std::string& text) {
    return leadhook::parse_rfc3339(text).value_or(0);
}

std::size_t count(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto pos = text.find(part); pos != std::string::npos; pos = text.find(part, pos + 1)) {
        ++n;
    }
    return n;
}

const std::vector<std::string> three_days{"2026-11-01", "2026-11-02", "2026-11-03"};

} // namespace

BOOST_AUTO_TEST_SUITE(report_html)

BOOST_AUTO_TEST_CASE(escaping_covers_text_and_both_attribute_quotes) {
    BOOST_TEST(lr::escape_html("<a href='x'>\"&amp;\"</a>") ==
               "&lt;a href=&#39;x&#39;&gt;&quot;&amp;amp;&quot;&lt;/a&gt;");
    BOOST_TEST(lr::escape_html("plain é") == "plain é");
}

BOOST_AUTO_TEST_CASE(bars_stack_in_type_order_with_heights_in_proportion) {
    const auto c = lr::layout_chart(three_days, {{"2026-11-01", "opened", 3},
                                                 {"2026-11-01", "delivered", 6},
                                                 {"2026-11-03", "bounced", 2},
                                                 {"2026-11-03", "delivered", 1}});
    BOOST_TEST_REQUIRE(c.bars.size() == 3u);
    BOOST_TEST(c.y_max == 10); // 9 rounded up to a tick step of 2
    BOOST_TEST(c.ticks == (std::vector<long long>{0, 2, 4, 6, 8, 10}));
    const auto& first = c.bars[0];
    BOOST_TEST(first.total == 9);
    BOOST_TEST_REQUIRE(first.segments.size() == 2u);
    BOOST_TEST(first.segments[0].type == "delivered"); // bottom
    BOOST_TEST(first.segments[1].type == "opened");
    const double bottom = c.plot_top + c.plot_height;
    BOOST_TEST(first.segments[0].height == c.plot_height * 6 / 10,
               boost::test_tools::tolerance(1e-9));
    BOOST_TEST(first.segments[1].height == c.plot_height * 3 / 10,
               boost::test_tools::tolerance(1e-9));
    BOOST_TEST(first.segments[0].y + first.segments[0].height == bottom,
               boost::test_tools::tolerance(1e-9));
    BOOST_TEST(first.segments[1].y + first.segments[1].height == first.segments[0].y,
               boost::test_tools::tolerance(1e-9));
    BOOST_TEST(c.bars[1].segments.empty()); // a day with nothing still has its slot
    BOOST_TEST(c.bars[2].segments[0].type == "delivered");
    BOOST_TEST(c.bars[2].segments[1].type == "bounced");
    BOOST_TEST(c.bars[0].x < c.bars[1].x);
    BOOST_TEST(c.bars[1].x < c.bars[2].x);
    BOOST_TEST(c.legend == (std::vector<std::string>{"delivered", "opened", "bounced"}));
}

BOOST_AUTO_TEST_CASE(svg_has_a_rect_per_segment_a_legend_and_labels) {
    const auto svg = lr::render_svg(lr::layout_chart(
        three_days, {{"2026-11-01", "opened", 3}, {"2026-11-01", "delivered", 6}}));
    BOOST_TEST(count(svg, "<rect class=\"seg\"") == 2u);
    BOOST_TEST(count(svg, "<g class=\"bar\"") == 3u);
    BOOST_TEST(count(svg, "<g class=\"legend-item\"") == 2u);
    BOOST_TEST(svg.find("data-type=\"opened\" data-count=\"3\"") != std::string::npos);
    BOOST_TEST(svg.find(">events</text>") != std::string::npos);
    BOOST_TEST(svg.find("day (UTC), 2026-11-01 to 2026-11-03") != std::string::npos);
    BOOST_TEST(svg.find(">11-01</text>") != std::string::npos);
    BOOST_TEST(svg.find("fill=\"" + std::string(lr::event_colour("opened")) + "\"") !=
               std::string::npos);
    BOOST_TEST(lr::event_colour("opened") != lr::event_colour("delivered"));
    BOOST_TEST(svg.find("No events") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_type_has_its_own_colour) {
    for (std::size_t i = 0; i < lr::event_types.size(); ++i) {
        for (std::size_t j = i + 1; j < lr::event_types.size(); ++j) {
            BOOST_TEST(lr::event_colour(lr::event_types[i]) !=
                       lr::event_colour(lr::event_types[j]));
        }
    }
}

BOOST_AUTO_TEST_CASE(an_empty_range_and_a_single_day_draw) {
    const auto none = lr::layout_chart({}, {});
    BOOST_TEST(none.bars.empty());
    BOOST_TEST(none.y_max > 0);
    BOOST_TEST(lr::render_svg(none).find("No events in this range") != std::string::npos);

    const auto quiet = lr::render_svg(lr::layout_chart(three_days, {}));
    BOOST_TEST(count(quiet, "<g class=\"bar\"") == 3u);
    BOOST_TEST(count(quiet, "<rect class=\"seg\"") == 0u);
    BOOST_TEST(quiet.find("No events in this range") != std::string::npos);

    const auto one = lr::layout_chart({"2026-11-01"}, {{"2026-11-01", "clicked", 1}});
    BOOST_TEST_REQUIRE(one.bars.size() == 1u);
    BOOST_TEST(one.bars[0].labelled);
    BOOST_TEST(one.bars[0].width > 0);
    BOOST_TEST(one.bars[0].x + one.bars[0].width <= one.plot_left + one.plot_width);
    BOOST_TEST(one.bars[0].segments[0].height == one.plot_height,
               boost::test_tools::tolerance(1e-9));
}

BOOST_AUTO_TEST_CASE(day_labels_thin_out_on_long_ranges) {
    std::vector<std::string> days;
    for (int d = 1; d <= 90; ++d) {
        days.push_back(lr::format_day(at("2026-01-01T00:00:00Z") + (d - 1) * lr::micros_per_day));
    }
    const auto c = lr::layout_chart(days, {});
    const auto labelled =
        std::count_if(c.bars.begin(), c.bars.end(), [](const auto& b) { return b.labelled; });
    BOOST_TEST(labelled >= 5);
    BOOST_TEST(labelled <= 20);
}

BOOST_AUTO_TEST_CASE(the_page_escapes_every_string_and_references_nothing_outside) {
    lr::Page page;
    page.generated_at = at("2026-11-29T12:00:00Z");
    page.chart_range = {at("2026-11-01T00:00:00Z"), at("2026-11-03T00:00:00Z")};
    page.filters.domain = "example.com";
    page.daily = {{"2026-11-01", "delivered", 2}, {"2026-11-02", "<b>evil</b>", 1}};
    page.leads = {{1, "<script>alert(1)</script>@example.com", "\"><img src=x>", std::nullopt, true,
                   1, 0, false, false, false, false, false, std::nullopt},
                  {2, "b@example.com", "opened", at("2026-11-01T08:00:00Z"), true, 3, 1, false,
                   false, false, false, false, at("2026-11-02T09:30:00Z")}};
    const std::string html = lr::render_html(page);
    BOOST_TEST(html.starts_with("<!DOCTYPE html>"));
    BOOST_TEST(html.find("<script") == std::string::npos);
    BOOST_TEST(html.find("<img") == std::string::npos);
    BOOST_TEST(html.find("<b>evil") == std::string::npos);
    BOOST_TEST(html.find("&lt;script&gt;alert(1)&lt;/script&gt;@example.com") != std::string::npos);
    BOOST_TEST(html.find("&quot;&gt;&lt;img src=x&gt;") != std::string::npos);
    // Self-contained: no URL, no link, no external font or image.
    BOOST_TEST(
        !std::regex_search(html, std::regex("https?:|<link|@import|url\\(|<[^>]*(src|href)=")));
    BOOST_TEST(count(html, "<svg") == 1u);
    BOOST_TEST(count(html, "<rect class=\"seg\"") == 2u); // the unknown name drawn as unknown
    BOOST_TEST(count(html, "<tr>") == 3u);                // header and two leads
    BOOST_TEST(html.find("2026-11-01 to 2026-11-02") != std::string::npos);
    BOOST_TEST(html.find("Leads (2)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_page_with_no_leads_says_so) {
    lr::Page page;
    page.chart_range = {at("2026-11-01T00:00:00Z"), at("2026-11-02T00:00:00Z")};
    const std::string html = lr::render_html(page);
    BOOST_TEST(html.find("No leads match.") != std::string::npos);
    BOOST_TEST(html.find("No events in this range") != std::string::npos);
    BOOST_TEST(html.find("all leads") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_report_html
