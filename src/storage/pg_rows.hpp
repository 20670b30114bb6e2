#pragma once
// A batch's statements, and the leads and lead_email_events rows as libpq
// parameters and results: the column lists of those statements and their
// mapping to LeadState and EventRecord.
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

// The statements of a batch's transaction (storage/pg_event_batch.cpp), in
// the order it runs them; what each does is said where it is defined.
/// $1: rows (i, message_id, recipient). Rows: i, the matched lead id or NULL.
extern const PgStatement resolve_leads;
/// $1: rows (token, sha256, signed_at, received_at, key_label, lead_id).
/// Rows: token, event_id of each token this transaction claimed.
extern const PgStatement claim_tokens;
/// $1: a jsonb array of tokens. Rows: token, body sha256 (hex), lead_id.
extern const PgStatement read_ledger;
/// $1: a jsonb array of tokens whose lead was deleted before its lock.
extern const PgStatement forget_leads;
/// $1: rows (token, mailgun_event_id, event_time). Rows: token, the
/// original's lead_id (NULL when none).
extern const PgStatement link_to_originals;
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
