#pragma once
// The daily chart: one stacked bar per UTC day, a segment per event type
// (event_types order, the first at the bottom), as inline SVG with a legend,
// axis labels and day labels. Layout and drawing are apart so the geometry
// can be checked without parsing SVG.
#include "report/report.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace leadhook::report {

/// The colour of an event type ("#rrggbb"); grey for names it does not know.
std::string_view event_colour(std::string_view type);

struct Segment {
    std::string type;
    long long count = 0;
    double y = 0; ///< top edge; SVG's y grows downwards
    double height = 0;
};

struct Bar {
    std::string day; ///< YYYY-MM-DD
    double x = 0, width = 0;
    long long total = 0;
    bool labelled = false;         ///< its day is written under the axis
    std::vector<Segment> segments; ///< non-zero counts only, bottom first
};

struct ChartLayout {
    double width = 960, height = 380;
    double plot_left = 0, plot_top = 0, plot_width = 0, plot_height = 0;
    long long y_max = 1;             ///< the top of the y axis
    std::vector<long long> ticks;    ///< y axis labels, 0 first
    std::vector<Bar> bars;           ///< one per day, empty days too
    std::vector<std::string> legend; ///< the types that occur, in stacking order
};

/// Lays out `counts` over `days` (YYYY-MM-DD, oldest first). Counts on days
/// not listed are ignored. Segment heights are count / y_max of the plot.
ChartLayout layout_chart(const std::vector<std::string>& days,
                         const std::vector<DailyCount>& counts);

/// The layout as an <svg> element for inline use in HTML (no xmlns, no
/// external reference). Each segment is a <rect class="seg"> with data-day,
/// data-type, data-count and a <title> tooltip; each day a <g class="bar">.
/// With no events it says so inside the frame.
std::string render_svg(const ChartLayout& chart);

} // namespace leadhook::report
