#pragma once
// A batch's statements, and the leads and lead_email_events rows as libpq
// parameters and results: the column lists of those statements and their
// mapping to LeadState and EventRecord.
#include "domain/lead_state.hpp"
#include "storage/event_store.hpp"
#include "storage/pg.hpp"
#include "storage/pg_columns.hpp"

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

// The statements of a batch's transaction (storage/pg_event_batch.cpp), in
// the order it runs them; what each does is said where it is defined.
/// $1...: lookup_rows() (i, message_id, recipient). Rows: lead id, the LeadState
/// columns (read_lead), then the i of the event it matched; none for an
/// event with no lead.
extern const PgStatement resolve_and_lock_leads;
/// $1...: event_rows() filled by write_event_row(), tokens unique. Rows:
/// token, event id, written ("t": its event row was appended; "f": the
/// Mailgun event was stored before) for each token this transaction claimed.
extern const PgStatement claim_and_insert;
/// The same for a batch holding events read from Mailgun's API.
extern const PgStatement claim_and_insert_api;
/// $1: token_rows(). Rows: token, body sha256 (hex), lead_id.
extern const PgStatement read_ledger;
/// $1...: repeat_rows() (token, mailgun_event_id, event_time, event_type). Rows: token, the
/// original's lead_id (NULL when none).
extern const PgStatement link_to_originals;
/// $1...: lead_rows() filled by write_lead_row().
extern const PgStatement update_leads;
/// $1...: held_rows() (i, mailgun_event_id, event_type, event_time,
/// message_id, recipient). Rows: the i of each event leadhook holds, by the
/// write's own duplicate rules.
extern const PgStatement find_held_events;

/// Column `col` of row `row` as a whole number: 0 when NULL or not one.
long long integer_at(const PgResult& r, int row, int col);
/// The same for a LEADHOOK_MICROS timestamp: nullopt when NULL or not a number.
std::optional<EpochMicros> micros_at(const PgResult& r, int row, int col);

/// Columns of a lead in a resolve_and_lock_leads row: its id, then the
/// LeadState; the matched event's i comes after them.
inline constexpr int lead_columns = 25;
/// The lead in row `row` of a resolve_and_lock_leads result.
domain::LeadState read_lead(const PgResult& r, int row);
/// The rows of the statements above; their columns are named where the
/// statements are defined.
PgColumns lookup_rows();
PgColumns token_rows();
PgColumns repeat_rows();
PgColumns lead_rows();
PgColumns held_rows();
void write_lead_row(PgColumns& rows, std::int64_t id, const domain::LeadState& s);
/// `index`: the event's place in the batch; the first of two copies of a
/// Mailgun event is the one written. `token`: as stored (BatchItem::token).
/// The rows claim_and_insert takes.
PgColumns event_rows();
void write_event_row(PgColumns& rows, int index, std::string_view token, const EventRecord& r,
                     std::optional<std::int64_t> lead);

} // namespace leadhook::storage
