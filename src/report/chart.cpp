#include "report/chart.hpp"

#include "report/escape.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

namespace leadhook::report {
namespace {

// One colour per type, in event_types order: colour-blind-safe Tableau 10,
// then two greys for the types that say little about the lead.
constexpr std::array<std::string_view, 12> colours{"#4e79a7", "#59a14f", "#76b7b2", "#f28e2b",
                                                   "#e15759", "#b07aa1", "#9c755f", "#edc948",
                                                   "#ff9da7", "#bab0ac", "#d7b5a6", "#79706e"};

constexpr double margin_left = 64, margin_right = 16, margin_bottom = 52;
constexpr double legend_row = 20, legend_top = 8, char_width = 7.2;
constexpr double min_label_spacing = 52; ///< pixels between day labels

/// The smallest step in 1, 2, 5, 10, 20, 50, ... that covers `max` in five.
long long tick_step(long long max) {
    long long step = 1;
    for (int i = 0; step * 5 < max; ++i) {
        step = step / (i % 3 == 1 ? 2 : 1) * (i % 3 == 1 ? 5 : 2);
    }
    return step;
}

/// Where each legend entry goes (swatch's top-left), wrapping at the width.
std::vector<std::pair<double, double>> legend_positions(const std::vector<std::string>& legend,
                                                        double width) {
    std::vector<std::pair<double, double>> at;
    double x = margin_left, y = legend_top;
    for (const auto& name : legend) {
        const double w = 18 + char_width * static_cast<double>(name.size()) + 18;
        if (x + w > width - margin_right && x > margin_left) {
            x = margin_left;
            y += legend_row;
        }
        at.emplace_back(x, y);
        x += w;
    }
    return at;
}

std::string num(double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", v);
    std::string s = text;
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') {
        s.pop_back();
    }
    return s;
}

std::string short_day(const std::string& day) {
    return day.size() == 10 ? day.substr(5) : day;
}

void draw_axes(std::string& out, const ChartLayout& c) {
    const double bottom = c.plot_top + c.plot_height, right = c.plot_left + c.plot_width;
    for (const long long tick : c.ticks) {
        const double y =
            bottom - static_cast<double>(tick) / static_cast<double>(c.y_max) * c.plot_height;
        out += "<line class=\"grid\" x1=\"" + num(c.plot_left) + "\" x2=\"" + num(right) +
               "\" y1=\"" + num(y) + "\" y2=\"" + num(y) + "\" stroke=\"#e3e6ea\"/>";
        out += "<text class=\"tick\" x=\"" + num(c.plot_left - 8) + "\" y=\"" + num(y + 4) +
               "\" text-anchor=\"end\">" + std::to_string(tick) + "</text>";
    }
    out += "<line class=\"axis\" x1=\"" + num(c.plot_left) + "\" x2=\"" + num(right) + "\" y1=\"" +
           num(bottom) + "\" y2=\"" + num(bottom) + "\" stroke=\"#6b7280\"/>";
    out += "<text class=\"axis-label\" transform=\"translate(16 " +
           num(c.plot_top + c.plot_height / 2) +
           ") rotate(-90)\" text-anchor=\"middle\">events</text>";
    std::string span = "day (UTC)";
    if (!c.bars.empty()) {
        span += ", " + c.bars.front().day + " to " + c.bars.back().day;
    }
    out += "<text class=\"axis-label\" x=\"" + num(c.plot_left + c.plot_width / 2) + "\" y=\"" +
           num(c.height - 8) + "\" text-anchor=\"middle\">" + escape_html(span) + "</text>";
}

void draw_bar(std::string& out, const Bar& bar, double bottom) {
    const std::string day = escape_html(bar.day);
    out += "<g class=\"bar\" data-day=\"" + day + "\" data-total=\"" + std::to_string(bar.total) +
           "\">";
    for (const auto& s : bar.segments) {
        const std::string type = escape_html(s.type);
        out += "<rect class=\"seg\" data-day=\"" + day + "\" data-type=\"" + type +
               "\" data-count=\"" + std::to_string(s.count) + "\" x=\"" + num(bar.x) + "\" y=\"" +
               num(s.y) + "\" width=\"" + num(bar.width) + "\" height=\"" + num(s.height) +
               "\" fill=\"" + std::string(event_colour(s.type)) + "\"><title>" + day + " " + type +
               ": " + std::to_string(s.count) + "</title></rect>";
    }
    if (bar.labelled) {
        out += "<text class=\"day\" x=\"" + num(bar.x + bar.width / 2) + "\" y=\"" +
               num(bottom + 16) + "\" text-anchor=\"middle\">" + escape_html(short_day(bar.day)) +
               "</text>";
    }
    out += "</g>";
}

void draw_legend(std::string& out, const ChartLayout& c) {
    const auto at = legend_positions(c.legend, c.width);
    out += "<g class=\"legend\">";
    for (std::size_t i = 0; i < c.legend.size(); ++i) {
        const auto [x, y] = at[i];
        const std::string type = escape_html(c.legend[i]);
        out += "<g class=\"legend-item\" data-type=\"" + type + "\"><rect x=\"" + num(x) +
               "\" y=\"" + num(y) + "\" width=\"12\" height=\"12\" rx=\"2\" fill=\"" +
               std::string(event_colour(c.legend[i])) + "\"/><text x=\"" + num(x + 18) + "\" y=\"" +
               num(y + 11) + "\">" + type + "</text></g>";
    }
    out += "</g>";
}

} // namespace

std::string_view event_colour(std::string_view type) {
    const auto rank = event_type_rank(type);
    return rank < colours.size() ? colours[rank] : colours.back();
}

ChartLayout layout_chart(const std::vector<std::string>& days,
                         const std::vector<DailyCount>& counts) {
    ChartLayout c;
    std::map<std::string, std::map<std::size_t, std::pair<std::string, long long>>> by_day;
    std::vector<bool> present(event_types.size(), false);
    for (const auto& count : counts) {
        if (count.count <= 0) {
            continue;
        }
        // A name the chart does not know is drawn as "unknown", the last type.
        const auto rank = std::min(event_type_rank(count.event_type), event_types.size() - 1);
        auto& slot = by_day[count.day][rank];
        slot.first = event_types[rank];
        slot.second += count.count;
        present[rank] = true;
    }
    for (std::size_t rank = 0; rank < event_types.size(); ++rank) {
        if (present[rank]) {
            c.legend.emplace_back(event_types[rank]);
        }
    }
    const auto legend_at = legend_positions(c.legend, c.width);
    c.plot_top = (legend_at.empty() ? legend_top : legend_at.back().second + legend_row) + 12;
    c.plot_left = margin_left;
    c.plot_width = c.width - margin_left - margin_right;
    c.plot_height = c.height - c.plot_top - margin_bottom;

    long long max_total = 0;
    for (const auto& day : days) {
        long long total = 0;
        if (const auto found = by_day.find(day); found != by_day.end()) {
            for (const auto& [rank, entry] : found->second) {
                total += entry.second;
            }
        }
        max_total = std::max(max_total, total);
    }
    const long long step = tick_step(max_total);
    c.y_max = std::max(step, (max_total + step - 1) / step * step);
    for (long long t = 0; t <= c.y_max; t += step) {
        c.ticks.push_back(t);
    }

    const double slot = days.empty() ? 0 : c.plot_width / static_cast<double>(days.size());
    const auto label_every =
        static_cast<std::size_t>(std::max(1.0, std::ceil(min_label_spacing / std::max(slot, 1.0))));
    const double bottom = c.plot_top + c.plot_height;
    for (std::size_t i = 0; i < days.size(); ++i) {
        Bar bar{days[i], 0, std::max(1.0, slot * 0.72), 0, i % label_every == 0, {}};
        bar.x = c.plot_left + slot * static_cast<double>(i) + (slot - bar.width) / 2;
        double top = bottom;
        if (const auto found = by_day.find(days[i]); found != by_day.end()) {
            for (const auto& [rank, entry] : found->second) {
                const double h = static_cast<double>(entry.second) / static_cast<double>(c.y_max) *
                                 c.plot_height;
                top -= h;
                bar.segments.push_back({entry.first, entry.second, top, h});
                bar.total += entry.second;
            }
        }
        c.bars.push_back(std::move(bar));
    }
    return c;
}

std::string render_svg(const ChartLayout& c) {
    std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + num(c.width) + " " + num(c.height) +
                      "\" width=\"" + num(c.width) + "\" height=\"" + num(c.height) +
                      "\" role=\"img\" aria-label=\"Events per day, stacked by type\" "
                      "font-size=\"12\" fill=\"#374151\">";
    draw_axes(out, c);
    const double bottom = c.plot_top + c.plot_height;
    for (const auto& bar : c.bars) {
        draw_bar(out, bar, bottom);
    }
    draw_legend(out, c);
    long long total = 0;
    for (const auto& bar : c.bars) {
        total += bar.total;
    }
    if (total == 0) {
        out += "<text class=\"empty\" x=\"" + num(c.plot_left + c.plot_width / 2) + "\" y=\"" +
               num(c.plot_top + c.plot_height / 2) +
               "\" text-anchor=\"middle\" font-size=\"16\">No events in this range</text>";
    }
    return out + "</svg>";
}

} // namespace leadhook::report
