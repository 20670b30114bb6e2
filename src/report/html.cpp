#include "report/html.hpp"

#include "report/chart.hpp"
#include "report/escape.hpp"
#include "util/rfc3339.hpp"

#include <algorithm>
#include <utility>

namespace leadhook::report {
namespace {

// System fonts only: the page must render the same offline.
constexpr const char* style = R"(
:root { color-scheme: light; }
body { margin: 0; background: #f5f6f8; color: #1f2937;
  font: 14px/1.45 "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 0 0 12px; }
.meta { color: #6b7280; margin: 0 0 20px; }
.summary { display: flex; gap: 12px; margin-bottom: 20px; }
.card { flex: 1; background: #fff; border: 1px solid #e3e6ea; border-radius: 8px;
  padding: 10px 14px; }
.card .n { display: block; font-size: 22px; font-weight: bold; }
.card .label { color: #6b7280; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
section.panel { background: #fff; border: 1px solid #e3e6ea; border-radius: 8px;
  padding: 16px 18px; margin-bottom: 20px; overflow-x: auto; }
svg.chart { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; font-weight: 600; color: #4b5563; border-bottom: 2px solid #e3e6ea;
  padding: 6px 8px; vertical-align: bottom; }
td { border-bottom: 1px solid #eef0f3; padding: 5px 8px; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.flag { text-align: center; }
.yes { color: #15803d; font-weight: bold; }
.dot { display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; }
.chip { display: inline-block; border: 1px solid; border-left-width: 4px; border-radius: 4px;
  padding: 0 6px; margin-right: 4px; font-size: 12px; }
.empty { color: #6b7280; text-align: center; padding: 18px; }
footer { color: #9ca3af; font-size: 12px; }
)";

std::string minute(EpochMicros t) {
    const auto s = format_rfc3339(t);
    return s.substr(0, 10) + " " + s.substr(11, 5);
}

/// "2026-11-01 to 2026-11-30": the last day shown is the one before `to`.
std::string days_text(const DateRange& r) {
    if (r.from && r.to) {
        return format_day(*r.from) + " to " + format_day(*r.to - micros_per_day);
    }
    if (r.from) {
        return "from " + format_day(*r.from);
    }
    return r.to ? "before " + format_day(*r.to) : "any time";
}

std::string selection_text(const Filters& f) {
    std::string text = f.range.from || f.range.to
                           ? "leads whose follow-up was sent " + days_text(f.range)
                           : "all leads";
    if (f.status) {
        text += ", status " + *f.status;
    }
    if (f.domain) {
        text += ", domain " + *f.domain;
    }
    return text;
}

std::string card(long long n, const char* label) {
    return "<div class=\"card\"><span class=\"n\">" + std::to_string(n) +
           "</span><span class=\"label\">" + label + "</span></div>";
}

std::string summary(const std::vector<LeadRow>& leads) {
    auto count = [&](auto pred) {
        return static_cast<long long>(std::count_if(leads.begin(), leads.end(), pred));
    };
    return "<section class=\"summary\">" + card(static_cast<long long>(leads.size()), "leads") +
           card(count([](const LeadRow& l) { return l.delivered; }), "delivered") +
           card(count([](const LeadRow& l) { return l.opens > 0; }), "opened") +
           card(count([](const LeadRow& l) { return l.clicks > 0; }), "clicked") +
           card(count([](const LeadRow& l) { return l.bounced || l.dropped; }), "failed") +
           card(count(
                    [](const LeadRow& l) { return l.complained || l.unsubscribed || l.opted_out; }),
                "opted out") +
           "</section>";
}

std::string status_html(const std::string& status) {
    const bool known = event_type_rank(status) < event_types.size();
    return (known ? "<span class=\"dot\" style=\"background:" + std::string(event_colour(status)) +
                        "\"></span>"
                  : std::string()) +
           escape_html(status);
}

/// The flags that forbid or discourage more mail, as labelled chips.
std::string flags_html(const LeadRow& l) {
    const std::pair<bool, const char*> flags[] = {{l.bounced, "bounced"},
                                                  {l.dropped, "dropped"},
                                                  {l.complained, "complained"},
                                                  {l.unsubscribed, "unsubscribed"},
                                                  {l.opted_out, "opted out"}};
    std::string out;
    for (const auto& [set, name] : flags) {
        if (set) {
            out += "<span class=\"chip\" style=\"border-color:" + std::string(event_colour(name)) +
                   "\">" + name + "</span>";
        }
    }
    return out;
}

std::string lead_row(const LeadRow& l) {
    auto td = [](const std::string& cls, const std::string& html) {
        return (cls.empty() ? "<td>" : "<td class=\"" + cls + "\">") + html + "</td>";
    };
    return "<tr>" + td("num", std::to_string(l.id)) + td("", escape_html(l.email)) +
           td("", status_html(l.status)) + td("", l.sent_at ? minute(*l.sent_at) : "") +
           (l.delivered ? td("flag yes", "&#10003;") : td("flag", "")) +
           td("num", std::to_string(l.opens)) + td("num", std::to_string(l.clicks)) +
           td("flags", flags_html(l)) + td("", l.last_update ? minute(*l.last_update) : "") +
           "</tr>";
}

/// One row per lead: the flag columns of the text formats become chips, so
/// the table fits a page.
std::string lead_table(const std::vector<LeadRow>& leads) {
    std::string out = "<table class=\"leads\"><thead><tr><th class=\"num\">id</th><th>email</th>"
                      "<th>status</th><th>sent at</th><th class=\"flag\">delivered</th>"
                      "<th class=\"num\">opens</th><th class=\"num\">clicks</th>"
                      "<th>flags</th>"
                      "<th>last update</th></tr></thead><tbody>";
    for (const auto& lead : leads) {
        out += lead_row(lead);
    }
    if (leads.empty()) {
        out += "<tr class=\"none\"><td class=\"empty\" colspan=\"9\">No leads match.</td></tr>";
    }
    return out + "</tbody></table>";
}

} // namespace

std::string render_html(const Page& page) {
    const std::string chart_days = days_text(page.chart_range);
    const ChartLayout chart = layout_chart(days_of(page.chart_range), page.daily);
    long long events = 0;
    for (const auto& bar : chart.bars) {
        events += bar.total;
    }
    std::string domain_note = page.filters.domain ? ", to " + *page.filters.domain : "";
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                      "<title>Lead follow-up report, " +
                      escape_html(chart_days) + "</title><style>" + style +
                      "</style></head>\n<body><main>";
    out += "<header><h1>Lead follow-up report</h1><p class=\"meta\">Events " +
           escape_html(chart_days + domain_note) + " (UTC) &middot; " +
           escape_html(selection_text(page.filters)) + " &middot; generated " +
           escape_html(minute(page.generated_at)) + " UTC</p></header>\n";
    out += summary(page.leads) + "\n";
    out += "<section class=\"panel\" id=\"daily\"><h2>Events per day (" + std::to_string(events) +
           ")</h2>" + render_svg(chart) + "</section>\n";
    out += "<section class=\"panel\" id=\"leads\"><h2>Leads (" + std::to_string(page.leads.size()) +
           ")</h2>" + lead_table(page.leads) + "</section>\n";
    return out + "<footer>leadhook report</footer></main></body></html>\n";
}

} // namespace leadhook::report
