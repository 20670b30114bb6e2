#include "report/table.hpp"

#include <algorithm>
#include <tuple>

namespace leadhook::report {
namespace {

Cell text_or_null(const std::string& text) {
    return text.empty() ? Cell{} : Cell{text};
}

Cell instant_or_null(const std::optional<EpochMicros>& t) {
    return t ? Cell{Instant{*t}} : Cell{};
}

} // namespace

Table leads_table(const std::vector<LeadRow>& leads) {
    Table table{"leads",
                {{"id", Align::right},
                 {"email"},
                 {"status"},
                 {"sent_at"},
                 {"delivered"},
                 {"opens", Align::right},
                 {"clicks", Align::right},
                 {"bounced"},
                 {"dropped"},
                 {"complained"},
                 {"unsubscribed"},
                 {"opted_out"},
                 {"last_update"}},
                {}};
    table.rows.reserve(leads.size());
    for (const auto& l : leads) {
        table.rows.push_back({static_cast<long long>(l.id), l.email, l.status,
                              instant_or_null(l.sent_at), l.delivered, l.opens, l.clicks, l.bounced,
                              l.dropped, l.complained, l.unsubscribed, l.opted_out,
                              instant_or_null(l.last_update)});
    }
    return table;
}

Table daily_table(std::vector<DailyCount> counts) {
    std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
        return std::tuple(a.day, event_type_rank(a.event_type), a.event_type) <
               std::tuple(b.day, event_type_rank(b.event_type), b.event_type);
    });
    Table table{"daily", {{"day"}, {"event_type"}, {"count", Align::right}}, {}};
    table.rows.reserve(counts.size());
    for (auto& c : counts) {
        table.rows.push_back({std::move(c.day), std::move(c.event_type), c.count});
    }
    return table;
}

Table suppress_table(const std::vector<SuppressRow>& rows) {
    Table table{"suppress", {{"email"}, {"reason"}, {"detail"}, {"since"}, {"reasons"}}, {}};
    table.rows.reserve(rows.size());
    for (const auto& r : rows) {
        table.rows.push_back(
            {r.email, r.reason, text_or_null(r.detail), instant_or_null(r.since), r.reasons});
    }
    return table;
}

} // namespace leadhook::report
