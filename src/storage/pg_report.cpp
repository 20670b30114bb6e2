#include "storage/pg_report.hpp"

#include "storage/pg_rows.hpp"

#include <array>

namespace leadhook::storage {
namespace {

// clang-format off
// Every query takes $1 from and $2 to (epoch micros; NULL: unbounded), the
// half-open range [from, to), and $3 the address domain (NULL: any). The
// "$n IS NULL OR" forms fold away: libpq's unnamed statements are planned
// with their parameter values, so month partitions are still pruned.
// The leads' own times may be the original app's `timestamp without time
// zone`, which ::timestamptz reads in the session's time zone, as written.

// $4: status ('none': no event yet; NULL: any).
constexpr const char* select_leads =
    "SELECT id, email_addr, coalesce(followup_email_status, 'none'),"
    " (extract(epoch from followup_email_sent_date::timestamptz) * 1000000)::bigint,"
    " coalesce(followup_email_delivered, false), coalesce(followup_email_opens, 0),"
    " coalesce(followup_email_clicks, 0), coalesce(followup_email_bounced, false),"
    " coalesce(followup_email_dropped, false), coalesce(followup_email_spam, false),"
    " coalesce(followup_email_unsub, false), coalesce(is_optout, false),"
    " (extract(epoch from webhook_last_updated::timestamptz) * 1000000)::bigint"
    " FROM leads"
    " WHERE ($1::bigint IS NULL OR followup_email_sent_date >="
    "  timestamptz 'epoch' + $1::bigint * interval '1 microsecond')"
    " AND ($2::bigint IS NULL OR followup_email_sent_date <"
    "  timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
    " AND ($3::text IS NULL OR lower(substring(btrim(email_addr) from '@([^@]*)$')) = $3)"
    " AND ($4::text IS NULL OR coalesce(followup_email_status, 'none') = $4)"
    " ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC";

constexpr const char* select_daily =
    "SELECT to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), event_type, count(*)"
    " FROM lead_email_events"
    " WHERE ($1::bigint IS NULL OR event_time >="
    "  timestamptz 'epoch' + $1::bigint * interval '1 microsecond')"
    " AND ($2::bigint IS NULL OR event_time <"
    "  timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
    " AND ($3::text IS NULL OR lower(substring(btrim(recipient) from '@([^@]*)$')) = $3)"
    " GROUP BY 1, 2 ORDER BY 1, 2";

// Candidates from both sources: the suppression list (written with each
// event that forbids more mail, matched to a lead or not, and kept after
// the event log's months are dropped), and the flags on leads (the
// original app's data). A reason known only from a lead takes the time the
// lead records for it, else the lead's last update. Per address the
// earliest wins; ties go to the stronger reason, then to the list.
constexpr const char* select_suppress =
    "WITH candidates AS ("
    " SELECT address AS email, reason, detail, first_at AS at, 0 AS source"
    " FROM suppressions"
    " UNION ALL"
    " SELECT lower(btrim(l.email_addr)), f.reason, f.detail, f.at, 1"
    " FROM leads l CROSS JOIN LATERAL (VALUES"
    "  (l.followup_email_bounced, 'bounced', concat_ws(' ', l.bounce_code, l.bounce_error),"
    "   coalesce(l.followup_email_bounced_at, l.webhook_last_updated)),"
    "  (l.followup_email_dropped, 'dropped',"
    "   concat_ws(' ', l.dropped_reason, l.dropped_code, l.dropped_description),"
    "   coalesce(l.followup_email_dropped_at, l.webhook_last_updated)),"
    "  (l.followup_email_spam, 'complained', '', l.webhook_last_updated),"
    "  (l.followup_email_unsub, 'unsubscribed', '', l.webhook_last_updated),"
    "  (l.is_optout AND NOT coalesce(l.followup_email_spam OR l.followup_email_unsub, false),"
    "   'opted out', '', l.webhook_last_updated)"
    " ) AS f(flagged, reason, detail, at)"
    " WHERE coalesce(f.flagged, false) AND btrim(l.email_addr) <> ''"
    "), ranked AS ("
    " SELECT c.*, row_number() OVER (PARTITION BY email ORDER BY at ASC NULLS LAST,"
    "  array_position(ARRAY['complained', 'unsubscribed', 'bounced', 'dropped', 'rejected',"
    "  'opted out'], reason), source) AS n"
    " FROM candidates c"
    "), reasons AS ("
    " SELECT email, string_agg(DISTINCT reason, ',' ORDER BY reason) AS reasons"
    " FROM candidates GROUP BY email"
    ")"
    " SELECT r.email, r.reason, r.detail, (extract(epoch from r.at) * 1000000)::bigint,"
    " s.reasons"
    " FROM ranked r JOIN reasons s USING (email)"
    " WHERE r.n = 1"
    " AND ($1::bigint IS NULL OR r.at >="
    "  timestamptz 'epoch' + $1::bigint * interval '1 microsecond')"
    " AND ($2::bigint IS NULL OR r.at <"
    "  timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
    " AND ($3::text IS NULL OR substring(r.email from '@([^@]*)$') = $3)"
    " ORDER BY r.email";

// clang-format on

PgParam optional_micros(const std::optional<EpochMicros>& t) {
    return t ? number(*t) : PgParam{};
}

PgParam optional_text(const std::optional<std::string>& s) {
    return s ? PgParam{*s} : PgParam{};
}

std::array<PgParam, 3> range_and_domain(const report::DateRange& range,
                                        const std::optional<std::string>& domain) {
    return {optional_micros(range.from), optional_micros(range.to), optional_text(domain)};
}

} // namespace

Expected<std::vector<report::LeadRow>, StoreError> read_leads(PgConnection& conn,
                                                              const report::Filters& filters) {
    const auto [from, to, domain] = range_and_domain(filters.range, filters.domain);
    auto result =
        conn.exec(select_leads, std::array{from, to, domain, optional_text(filters.status)});
    if (!result) {
        return unexpected(std::move(result).error());
    }
    std::vector<report::LeadRow> rows;
    for (int i = 0; i < result->rows(); ++i) {
        auto flag = [&](int col) { return result->text(i, col) == "t"; };
        rows.push_back({integer_at(*result, i, 0), std::string(result->text(i, 1)),
                        std::string(result->text(i, 2)), micros_at(*result, i, 3), flag(4),
                        integer_at(*result, i, 5), integer_at(*result, i, 6), flag(7), flag(8),
                        flag(9), flag(10), flag(11), micros_at(*result, i, 12)});
    }
    return rows;
}

Expected<std::vector<report::DailyCount>, StoreError> read_daily(PgConnection& conn,
                                                                 const report::Filters& filters) {
    auto result = conn.exec(select_daily, range_and_domain(filters.range, filters.domain));
    if (!result) {
        return unexpected(std::move(result).error());
    }
    std::vector<report::DailyCount> rows;
    for (int i = 0; i < result->rows(); ++i) {
        rows.push_back({std::string(result->text(i, 0)), std::string(result->text(i, 1)),
                        integer_at(*result, i, 2)});
    }
    return rows;
}

Expected<std::vector<report::SuppressRow>, StoreError>
read_suppress(PgConnection& conn, const report::Filters& filters) {
    auto result = conn.exec(select_suppress, range_and_domain(filters.range, filters.domain));
    if (!result) {
        return unexpected(std::move(result).error());
    }
    std::vector<report::SuppressRow> rows;
    for (int i = 0; i < result->rows(); ++i) {
        rows.push_back({std::string(result->text(i, 0)), std::string(result->text(i, 1)),
                        std::string(result->text(i, 2)), micros_at(*result, i, 3),
                        std::string(result->text(i, 4))});
    }
    return rows;
}

Expected<report::Page, StoreError> read_page(PgConnection& conn, const report::Filters& filters,
                                             const report::DateRange& chart_range) {
    if (auto begun = conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !begun) {
        return unexpected(std::move(begun).error());
    }
    report::Page page;
    page.filters = filters;
    page.chart_range = chart_range;
    auto failed = [&](StoreError error) -> Expected<report::Page, StoreError> {
        (void)conn.exec("ROLLBACK"); // a lost connection has nothing to roll back
        return unexpected(std::move(error));
    };
    auto leads = read_leads(conn, filters);
    if (!leads) {
        return failed(std::move(leads).error());
    }
    auto daily = read_daily(conn, {chart_range, std::nullopt, filters.domain});
    if (!daily) {
        return failed(std::move(daily).error());
    }
    if (auto done = conn.exec("COMMIT"); !done) {
        return unexpected(std::move(done).error());
    }
    page.leads = std::move(leads).value();
    page.daily = std::move(daily).value();
    return page;
}

} // namespace leadhook::storage
