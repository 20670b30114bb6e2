#pragma once
// The report queries (`leadhook report`): leads with their follow-up state,
// event counts per day and type, and the addresses that must not be emailed
// again. Read-only; every filter is a query parameter.
#include "report/html.hpp"
#include "report/report.hpp"
#include "storage/pg.hpp"

#include <vector>

namespace leadhook::storage {

/// Leads whose follow-up was sent in the range (a lead with no sent date is
/// left out when the range has an end), with the status ("none" before any
/// event) and the address's domain; newest sent first, then by id.
/// Precondition: conn is connected.
Expected<std::vector<report::LeadRow>, StoreError> read_leads(PgConnection& conn,
                                                              const report::Filters& filters);

/// Events per UTC day of their event time and type in the range, whose
/// recipient's domain is the filter's; by day, then type name. The status
/// filter does not apply.
Expected<std::vector<report::DailyCount>, StoreError> read_daily(PgConnection& conn,
                                                                 const report::Filters& filters);

/// One row per lower-cased address that must not be emailed again, from the
/// leads' flags and the event log together (matched or not), so an address
/// stays when its events are purged. The row's reason is the earliest on
/// record; the range applies to that time (`since`). See docs/reports.md.
Expected<std::vector<report::SuppressRow>, StoreError>
read_suppress(PgConnection& conn, const report::Filters& filters);

/// The HTML page's rows in one read-only snapshot: the leads by `filters`,
/// and the daily counts over `chart_range` (closed) with the filters' domain.
Expected<report::Page, StoreError> read_page(PgConnection& conn, const report::Filters& filters,
                                             const report::DateRange& chart_range);

} // namespace leadhook::storage
