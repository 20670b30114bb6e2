#pragma once
// The leads and lead_email_events rows as libpq parameters and results: the
// column lists of a batch's statements and their mapping to LeadState and
// EventRecord.
#include "app/lead_state.hpp"
#include "storage/event_store.hpp"
#include "storage/jsonb_text.hpp"
#include "storage/pg.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadhook::storage {

/// NULL for empty; otherwise valid UTF-8 without NUL, as PostgreSQL text needs.
PgParam text(std::string_view value);
PgParam number(long long value);
/// bytea in PostgreSQL's hex input format.
PgParam bytea(std::string_view bytes);

/// $1: a jsonb array of lead ids. Rows: id, then the LeadState columns.
extern const PgStatement lock_leads;
/// $1: a jsonb array of write_lead_row() objects.
extern const PgStatement update_leads;
/// $1: a jsonb array of write_event_row() objects, tokens unique. Returns the token
/// of each event written (those not returned were already stored).
extern const PgStatement insert_events;

/// Column `col` of row `row` as a whole number: 0 when NULL or not one.
long long integer_at(const PgResult& r, int row, int col);
/// The same for a LEADHOOK_MICROS timestamp: nullopt when NULL or not a number.
std::optional<EpochMicros> micros_at(const PgResult& r, int row, int col);

/// Row `row` of a lock_leads result.
app::LeadState read_lead(const PgResult& r, int row);
void write_lead_row(JsonbText& rows, std::int64_t id, const app::LeadState& s);
/// `index`: the event's place in the batch; the first of two copies of a
/// Mailgun event is the one written. `id`: the one its token drew.
void write_event_row(JsonbText& rows, int index, std::int64_t id, const EventRecord& r,
                     std::optional<std::int64_t> lead);

} // namespace leadhook::storage
