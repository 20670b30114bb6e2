#pragma once
// The HTML report: one self-contained page (inline CSS and SVG; no script,
// no link, no font, no URL) with a summary, the daily chart and the lead
// table. Pure: the caller reads the rows and writes the file.
#include "report/report.hpp"

#include <string>
#include <vector>

namespace leadhook::report {

struct Page {
    EpochMicros generated_at = 0;
    Filters filters;       ///< what selected the leads (and the chart's domain)
    DateRange chart_range; ///< closed: the days the chart shows
    std::vector<DailyCount> daily;
    std::vector<LeadRow> leads;
};

/// The whole document, UTF-8. Every string from the rows or the filters is
/// escaped (escape_html) wherever it appears, text and attributes alike.
std::string render_html(const Page& page);

} // namespace leadhook::report
