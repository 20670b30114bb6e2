#pragma once
// A report as a typed table: named columns and cells that keep their type
// (text, number, yes/no, instant, nothing), so each output format can write
// a value its own way. Building tables from rows lives here; writing them
// out is in report/format.hpp.
#include "report/report.hpp"

#include <string>
#include <variant>
#include <vector>

namespace leadhook::report {

/// An instant, written as RFC 3339 UTC by machine formats.
struct Instant {
    EpochMicros at = 0;
    bool operator==(const Instant&) const = default;
};

/// monostate is "no value" (SQL NULL): empty in text and CSV, null in JSON.
using Cell = std::variant<std::monostate, std::string, long long, bool, Instant>;

enum class Align { left, right };

struct Column {
    std::string name; ///< also the CSV header and the JSON key
    Align align = Align::left;
};

struct Table {
    std::string name; ///< the report: leads, daily, suppress
    std::vector<Column> columns;
    std::vector<std::vector<Cell>> rows; ///< each as long as columns
};

/// id, email, status, sent_at, delivered, opens, clicks, bounced, dropped,
/// complained, unsubscribed, opted_out, last_update; in the given order.
Table leads_table(const std::vector<LeadRow>& leads);

/// day, event_type, count: by day, then in event_types order.
Table daily_table(std::vector<DailyCount> counts);

/// email, reason, detail, since, reasons; in the given order.
Table suppress_table(const std::vector<SuppressRow>& rows);

} // namespace leadhook::report
