#include "storage/pg_rows.hpp"

#include "storage/jsonb_text.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

#include <charconv>

namespace leadhook::storage {

using domain::LeadState;

// Timestamps cross the wire as integer microseconds since the epoch, so no
// precision is lost to floating point or time-zone formatting:
//   read:  (extract(epoch from col::timestamptz) * 1000000)::bigint
//   write: timestamptz 'epoch' + n * interval '1 microsecond'
// The original app's columns are `timestamp without time zone`: a write
// stores the session's local time, and the cast reads it back as the same
// instant (extract alone would take it as UTC).
// Batches travel as one binary array per column (storage/pg_columns), read
// by unnest(): as many parameters as columns, whatever the batch size, and
// nothing for PostgreSQL to parse but each payload's JSON. The planner
// guesses 100 rows for such a set, and against a small table would rather
// scan it whole than probe its index 100 times; `key = ANY(array)` makes
// the index the only sensible plan at any size.
// clang-format off
#define LEADHOOK_AT(col) "timestamptz 'epoch' + " col " * interval '1 microsecond'"
// One Mailgun event read two ways. The Logs API gives times to the
// millisecond, webhooks and the Events API to the microsecond: row `o` is
// row `r`'s event when id and type agree within a millisecond either side.
#define LEADHOOK_SAME_EVENT(o, r)                                                                  \
    " AND " #o ".mailgun_event_id = " #r ".mailgun_event_id"                                       \
    " AND " #o ".event_type = " #r ".event_type"                                                   \
    " AND " #o ".event_time > " LEADHOOK_AT("(" #r ".event_time - 1000)")                         \
    " AND " #o ".event_time < " LEADHOOK_AT("(" #r ".event_time + 1000)")
// A legacy (form) webhook carries no Mailgun event id, and its time is when
// it was signed, close to the event's. Against an event read from the API
// it is the same event when message id, recipient and type agree within
// ten minutes: never counted twice, at the price of taking two real opens
// of one message that close together for one (docs/backfill.md).
#define LEADHOOK_SAME_LEGACY_EVENT(o, r)                                                           \
    " AND " #o ".message_id = " #r ".message_id AND " #o ".event_type = " #r ".event_type"         \
    " AND lower(" #o ".recipient) = lower(" #r ".recipient)"                                       \
    " AND " #o ".event_time BETWEEN " LEADHOOK_AT(#r ".event_time") " - interval '10 minutes'"     \
    " AND " LEADHOOK_AT(#r ".event_time") " + interval '10 minutes'"
#define LEADHOOK_MICROS(col) "(extract(epoch from " col "::timestamptz) * 1000000)::bigint"

// The lead each event is about: by the follow-up email's message id, else
// the newest lead for the address; found and locked in one statement, in id
// order, so that concurrent batches (from this process or another) always
// wait for each other in the same order, and no lead can go between being
// found and being locked (FOR UPDATE skips a row deleted meanwhile: its
// events are stored unmatched). One row per matched event: the lead's id
// and state (a lead with several events repeats), then the event's i.
constexpr PgColumn lookup_columns[] = {
    {"i", PgType::int4}, {"message_id", PgType::text}, {"recipient", PgType::text}};
const std::string resolve_and_lock_leads_sql =
    "WITH k AS (SELECT * FROM " + unnest_sql(lookup_columns, "k") + "),"
    " found AS (SELECT k.i, coalesce(m.id, e.id) AS id FROM k"
    " LEFT JOIN LATERAL (SELECT id FROM leads"
    " WHERE btrim(followup_email_receipt_id, '<> ') = k.message_id"
    " ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC LIMIT 1) m ON true"
    " LEFT JOIN LATERAL (SELECT id FROM leads"
    " WHERE m.id IS NULL AND lower(email_addr) = lower(k.recipient)"
    " ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC LIMIT 1) e ON true)"
    " SELECT l.id, coalesce(l.followup_email_delivered, false), coalesce(l.followup_email_bounced, false),"
    " coalesce(l.followup_email_spam, false), coalesce(l.followup_email_unsub, false),"
    " coalesce(l.followup_email_dropped, false), coalesce(l.is_optout, false),"
    " coalesce(l.followup_email_opens, 0), coalesce(l.followup_email_clicks, 0),"
    " l.followup_email_status, " LEADHOOK_MICROS("l.followup_email_status_at") ","
    " l.followup_email_open_ip, l.followup_email_open_device, " LEADHOOK_MICROS("l.followup_email_open_at") ","
    " l.followup_email_click_ip, l.followup_email_click_device, " LEADHOOK_MICROS("l.followup_email_click_at") ","
    " l.dropped_reason, l.dropped_code, l.dropped_description, l.bounce_error, l.bounce_code,"
    " " LEADHOOK_MICROS("l.webhook_last_updated") ", " LEADHOOK_MICROS("l.followup_email_bounced_at") ","
    " " LEADHOOK_MICROS("l.followup_email_dropped_at") ", found.i"
    " FROM found JOIN leads l ON l.id = found.id"
    " WHERE l.id = ANY(ARRAY(SELECT id FROM found WHERE id IS NOT NULL))"
    " ORDER BY l.id FOR UPDATE OF l";
const PgStatement resolve_and_lock_leads{"leadhook_resolve_and_lock_leads",
                                         resolve_and_lock_leads_sql.c_str()};

constexpr PgColumn lead_update_columns[] = {
    {"id", PgType::int8}, {"delivered", PgType::boolean}, {"bounced", PgType::boolean},
    {"spam", PgType::boolean}, {"unsub", PgType::boolean}, {"dropped", PgType::boolean},
    {"optout", PgType::boolean}, {"opens", PgType::int4}, {"clicks", PgType::int4},
    {"status", PgType::text}, {"status_at", PgType::int8}, {"open_ip", PgType::text},
    {"open_device", PgType::text}, {"open_at", PgType::int8}, {"click_ip", PgType::text},
    {"click_device", PgType::text}, {"click_at", PgType::int8},
    {"dropped_reason", PgType::text}, {"dropped_code", PgType::text},
    {"dropped_description", PgType::text}, {"bounce_error", PgType::text},
    {"bounce_code", PgType::text}, {"last_updated", PgType::int8}, {"bounce_at", PgType::int8},
    {"dropped_at", PgType::int8}};
const std::string update_leads_sql =
    "UPDATE leads SET followup_email_delivered = v.delivered, followup_email_bounced = v.bounced,"
    " followup_email_spam = v.spam, followup_email_unsub = v.unsub,"
    " followup_email_dropped = v.dropped, is_optout = v.optout, followup_email_opens = v.opens,"
    " followup_email_clicks = v.clicks, followup_email_status = v.status,"
    " followup_email_status_at = " LEADHOOK_AT("v.status_at") ","
    " followup_email_open_ip = v.open_ip, followup_email_open_device = v.open_device,"
    " followup_email_open_at = " LEADHOOK_AT("v.open_at") ","
    " followup_email_click_ip = v.click_ip, followup_email_click_device = v.click_device,"
    " followup_email_click_at = " LEADHOOK_AT("v.click_at") ","
    " dropped_reason = v.dropped_reason, dropped_code = v.dropped_code,"
    " dropped_description = v.dropped_description, bounce_error = v.bounce_error,"
    " bounce_code = v.bounce_code, webhook_last_updated = " LEADHOOK_AT("v.last_updated") ","
    " followup_email_bounced_at = " LEADHOOK_AT("v.bounce_at") ","
    " followup_email_dropped_at = " LEADHOOK_AT("v.dropped_at")
    " FROM " + unnest_sql(lead_update_columns, "v") +
    " WHERE leads.id = v.id AND leads.id = ANY($1::bigint[])";
const PgStatement update_leads{"leadhook_update_leads", update_leads_sql.c_str()};

// The columns of write_event_row(), in claim_and_insert's $ order.
constexpr PgColumn event_columns[] = {
    {"i", PgType::int4}, {"sha256", PgType::bytea}, {"signed_at", PgType::int8},
    {"lead_id", PgType::int8}, {"event_type", PgType::text}, {"mailgun_event", PgType::text},
    {"severity", PgType::text}, {"reason", PgType::text}, {"recipient", PgType::text},
    {"message_id", PgType::text}, {"mailgun_event_id", PgType::text},
    {"event_time", PgType::int8}, {"received_at", PgType::int8}, {"domain", PgType::text},
    {"ip", PgType::text}, {"country", PgType::text}, {"region", PgType::text},
    {"city", PgType::text}, {"device_type", PgType::text}, {"client_type", PgType::text},
    {"client_name", PgType::text}, {"client_os", PgType::text}, {"user_agent", PgType::text},
    {"bot", PgType::text}, {"url", PgType::text}, {"code", PgType::text},
    {"error", PgType::text}, {"description", PgType::text}, {"tags", PgType::jsonb},
    {"user_variables", PgType::jsonb}, {"token", PgType::text}, {"signature", PgType::text},
    {"body_format", PgType::text}, {"route", PgType::text}, {"signing_key_label", PgType::text},
    {"source", PgType::text}, {"payload", PgType::jsonb}};

// Claims the batch's new tokens and appends their events, in one statement.
// Tokens are claimed in token order, so that two batches sharing tokens
// wait for each other instead of deadlocking; a token another transaction
// holds waits here until that one commits (then it is not claimed) or
// aborts. Each claimed token draws its event's id, so the ledger row is
// complete when written and never updated for a new event (an UPDATE would
// cost a second row version and its index entries). Only claimed tokens'
// events are appended, those not already stored (Mailgun's (id, timestamp,
// type) is unique; the first of the batch wins; `new_events` adds the rules
// for events read from Mailgun's API), with their payloads in the
// table with the shorter retention. Events are appended in that order,
// for the reason tokens are claimed in token order: two batches appending
// the same Mailgun events under different tokens wait for each other in one
// order instead of deadlocking. (Matched events are kept apart anyway by
// their leads' locks, taken first and in id order; unmatched ones are not.)
// The appended events that forbid more mail (bounced, complained,
// unsubscribed, dropped, rejected) add or widen their address's row in
// suppressions, in address order for the same reason; that list outlives
// the event log.
// Rows: token, event id, written (whether its event row was appended) for
// each token claimed.
std::string claim_and_insert_sql(const char* new_events, const char* more) {
    return "WITH input AS (SELECT * FROM " + unnest_sql(event_columns, "r") + "),"
    " claimed AS (INSERT INTO webhook_tokens (token, body_sha256, signed_at, received_at,"
    " key_label, event_id, lead_id)"
    " SELECT token, sha256, " LEADHOOK_AT("signed_at") ","
    " " LEADHOOK_AT("received_at") ", signing_key_label, nextval('lead_email_events_id_seq'), lead_id"
    " FROM input ORDER BY token ON CONFLICT (token) DO NOTHING RETURNING token, event_id),"
    " event AS (INSERT INTO lead_email_events (id, lead_id, event_type, mailgun_event, severity,"
    " reason, recipient, message_id, mailgun_event_id, event_time, received_at, domain, ip,"
    " country, region, city, device_type, client_type, client_name, client_os, user_agent, bot,"
    " url, code, error, description, tags, user_variables, token, signature, body_format, route,"
    " signing_key_label, source) SELECT claimed.event_id, lead_id, event_type, mailgun_event,"
    " severity, reason, recipient, message_id, mailgun_event_id, " LEADHOOK_AT("event_time") ","
    " " LEADHOOK_AT("received_at") ","
    " domain, ip, country, region, city, device_type, client_type, client_name, client_os,"
    " user_agent, bot, url, code, error, description,"
    " ARRAY(SELECT jsonb_array_elements_text(tags)), user_variables, input.token, signature,"
    " body_format, route, signing_key_label, source FROM input JOIN claimed USING (token)"
    " WHERE " + std::string(new_events) +
    " ORDER BY mailgun_event_id, event_time, event_type, i"
    " ON CONFLICT (mailgun_event_id, event_time, event_type) WHERE mailgun_event_id IS NOT NULL"
    " DO NOTHING"
    " RETURNING id, token, event_time, received_at),"
    " payload AS (INSERT INTO lead_email_event_payloads (event_id, event_time, received_at,"
    " payload) SELECT event.id, event.event_time, event.received_at, input.payload"
    " FROM event JOIN input USING (token)),"
    " suppressed AS (INSERT INTO suppressions (address, reason, detail, first_at, last_at, source)"
    " SELECT lower(btrim(recipient)), event_type, (array_agg(CASE"
    " WHEN event_type = 'bounced' THEN concat_ws(' ', code, coalesce(error, description))"
    " WHEN event_type IN ('dropped', 'rejected')"
    " THEN concat_ws(' ', reason, code, coalesce(description, error))"
    " ELSE '' END ORDER BY event.event_time))[1],"
    " min(event.event_time), max(event.event_time), min(source)"
    " FROM event JOIN input USING (token)"
    " WHERE event_type IN ('bounced', 'complained', 'unsubscribed', 'dropped', 'rejected')"
    " AND btrim(coalesce(recipient, '')) <> ''"
    " GROUP BY 1, 2 ORDER BY 1, 2"
    " ON CONFLICT (address, reason) DO UPDATE SET"
    " detail = CASE WHEN excluded.first_at < suppressions.first_at"
    " THEN excluded.detail ELSE suppressions.detail END,"
    " first_at = least(suppressions.first_at, excluded.first_at),"
    " last_at = greatest(suppressions.last_at, excluded.last_at))" + more +
    " SELECT claimed.token, claimed.event_id, event.id IS NOT NULL"
    " FROM claimed LEFT JOIN event USING (token)";
}

// A webhook meets an event stored from Mailgun's API through
// backfilled_events, a small table of those events' keys, not through the
// event log: subqueries over its month partitions, even ones never run,
// cost every webhook batch about a tenth more PostgreSQL CPU (planned and
// set up each time). Top-level NOT EXISTS become anti-joins (a CASE would
// keep them subplans, run per row).
#define LEADHOOK_WEBHOOK_MEETS_API                                                                 \
    " NOT EXISTS (SELECT 1 FROM backfilled_events a WHERE input.mailgun_event_id IS NOT NULL"      \
    LEADHOOK_SAME_EVENT(a, input) ")"                                                              \
    " AND NOT EXISTS (SELECT 1 FROM backfilled_events a WHERE input.mailgun_event_id IS NULL"      \
    LEADHOOK_SAME_LEGACY_EVENT(a, input) ")"
const std::string claim_and_insert_text = claim_and_insert_sql(LEADHOOK_WEBHOOK_MEETS_API, "");
const PgStatement claim_and_insert{"leadhook_claim_and_insert", claim_and_insert_text.c_str()};

// A batch with events from Mailgun's API (backfill) checks them against
// every stored event, webhook or API, and remembers their keys for the
// webhooks still to come.
const std::string claim_and_insert_api_text = claim_and_insert_sql(
    "CASE WHEN input.source = 'api'"
    " THEN NOT EXISTS (SELECT 1 FROM lead_email_events o WHERE true"
    LEADHOOK_SAME_EVENT(o, input) ")"
    " AND NOT EXISTS (SELECT 1 FROM lead_email_events o WHERE o.mailgun_event_id IS NULL"
    LEADHOOK_SAME_LEGACY_EVENT(o, input) ")"
    " ELSE " LEADHOOK_WEBHOOK_MEETS_API " END",
    ", remembered AS (INSERT INTO backfilled_events (mailgun_event_id, event_type, event_time,"
    " message_id, recipient) SELECT input.mailgun_event_id, input.event_type, event.event_time,"
    " input.message_id, input.recipient FROM event JOIN input USING (token)"
    " WHERE input.source = 'api' ON CONFLICT DO NOTHING)");
const PgStatement claim_and_insert_api{"leadhook_claim_and_insert_api",
                                       claim_and_insert_api_text.c_str()};
#undef LEADHOOK_WEBHOOK_MEETS_API

const PgStatement read_ledger{"leadhook_read_ledger",
    "SELECT token, encode(body_sha256, 'hex'), lead_id FROM webhook_tokens"
    " WHERE token = ANY($1::text[])"};

// A second delivery of a stored Mailgun event: its token points at the
// original, so a retry of that request is answered the same way. (Not the
// id it drew when claimed: no event has that. Should the original be gone,
// the token points at nothing.)
constexpr PgColumn token_columns[] = {{"token", PgType::text}};
constexpr PgColumn repeat_columns[] = {{"token", PgType::text},
                                       {"mailgun_event_id", PgType::text},
                                       {"event_time", PgType::int8},
                                       {"event_type", PgType::text}};
const std::string link_to_originals_sql =
    "UPDATE webhook_tokens t SET event_id = o.id, lead_id = o.lead_id"
    " FROM " + unnest_sql(repeat_columns, "k") +
    " LEFT JOIN lead_email_events o ON true" LEADHOOK_SAME_EVENT(o, k)
    " WHERE t.token = k.token AND t.token = ANY($1::text[])"
    " RETURNING t.token, o.lead_id";
const PgStatement link_to_originals{"leadhook_link_to_originals",
                                    link_to_originals_sql.c_str()};
// Which of these events (read from Mailgun's API) leadhook holds, by the
// rules the write applies: `backfill --dry-run`'s "missing". Rows: i.
constexpr PgColumn held_columns[] = {{"i", PgType::int4},
                                     {"mailgun_event_id", PgType::text},
                                     {"event_type", PgType::text},
                                     {"event_time", PgType::int8},
                                     {"message_id", PgType::text},
                                     {"recipient", PgType::text}};
const std::string find_held_events_sql =
    "SELECT k.i FROM " + unnest_sql(held_columns, "k") +
    " WHERE EXISTS (SELECT 1 FROM lead_email_events o WHERE true" LEADHOOK_SAME_EVENT(o, k) ")"
    " OR EXISTS (SELECT 1 FROM lead_email_events o WHERE o.mailgun_event_id IS NULL"
    LEADHOOK_SAME_LEGACY_EVENT(o, k) ")";
const PgStatement find_held_events{"leadhook_find_held_events", find_held_events_sql.c_str()};
#undef LEADHOOK_AT
#undef LEADHOOK_MICROS
#undef LEADHOOK_SAME_EVENT
#undef LEADHOOK_SAME_LEGACY_EVENT
// clang-format on

PgParam text(std::string_view value) {
    return value.empty() ? PgParam{} : PgParam{to_storable_utf8(value)};
}
PgParam number(long long value) {
    return std::to_string(value);
}
PgParam bytea(std::string_view bytes) {
    return "\\x" + to_hex(bytes);
}

std::optional<EpochMicros> micros_at(const PgResult& r, int row, int col) {
    long long value = 0;
    const auto s = r.text(row, col);
    if (r.is_null(row, col) ||
        std::from_chars(s.data(), s.data() + s.size(), value).ec != std::errc{}) {
        return std::nullopt;
    }
    return value;
}

long long integer_at(const PgResult& r, int row, int col) {
    return micros_at(r, row, col).value_or(0);
}

LeadState read_lead(const PgResult& r, int row) {
    auto str = [&](int col) { return std::string(r.text(row, col)); };
    auto boolean = [&](int col) { return r.text(row, col) == "t"; };
    auto integer = [&](int col) { return static_cast<int>(micros_at(r, row, col).value_or(0)); };
    auto at = [&](int col) { return micros_at(r, row, col); };
    return LeadState{boolean(1), boolean(2), boolean(3), boolean(4), boolean(5), boolean(6),
                     integer(7), integer(8), str(9),     at(10),     str(11),    str(12),
                     at(13),     str(14),    str(15),    at(16),     str(17),    str(18),
                     str(19),    str(20),    str(21),    at(22),     at(23),     at(24)};
}

PgColumns lead_rows() {
    return PgColumns(lead_update_columns);
}

void write_lead_row(PgColumns& rows, std::int64_t id, const LeadState& s) {
    rows.int8("id", id)
        .boolean("delivered", s.delivered)
        .boolean("bounced", s.bounced)
        .boolean("spam", s.spam)
        .boolean("unsub", s.unsub)
        .boolean("dropped", s.dropped)
        .boolean("optout", s.optout)
        .int4("opens", s.opens)
        .int4("clicks", s.clicks)
        .text("status", s.status)
        .int8("status_at", s.status_at)
        .text("open_ip", s.open_ip)
        .text("open_device", s.open_device)
        .int8("open_at", s.open_at)
        .text("click_ip", s.click_ip)
        .text("click_device", s.click_device)
        .int8("click_at", s.click_at)
        .text("dropped_reason", s.dropped_reason)
        .text("dropped_code", s.dropped_code)
        .text("dropped_description", s.dropped_description)
        .text("bounce_error", s.bounce_error)
        .text("bounce_code", s.bounce_code)
        .int8("last_updated", s.last_updated)
        .int8("bounce_at", s.bounce_at)
        .int8("dropped_at", s.dropped_at)
        .end_row();
}

PgColumns lookup_rows() {
    return PgColumns(lookup_columns);
}

PgColumns repeat_rows() {
    return PgColumns(repeat_columns);
}

PgColumns token_rows() {
    return PgColumns(token_columns);
}

PgColumns held_rows() {
    return PgColumns(held_columns);
}

PgColumns event_rows() {
    return PgColumns(event_columns);
}

void write_event_row(PgColumns& rows, int index, std::string_view token, const EventRecord& r,
                     std::optional<std::int64_t> lead) {
    const auto& e = r.event;
    rows.int4("i", index)
        .bytea("sha256", r.body_sha256)
        .int8("signed_at", r.signed_at)
        .int8("lead_id", lead)
        .text("event_type", mailgun::to_string(e.type))
        .text("mailgun_event", e.mailgun_event)
        .text("severity", e.severity)
        .text("reason", e.reason)
        .text("recipient", e.recipient)
        .text("message_id", e.message_id)
        .text("mailgun_event_id", e.mailgun_event_id)
        .int8("event_time", r.event_time)
        .int8("received_at", r.received_at)
        .text("domain", e.domain)
        .text("ip", e.ip)
        .text("country", e.country)
        .text("region", e.region)
        .text("city", e.city)
        .text("device_type", e.device_type)
        .text("client_type", e.client_type)
        .text("client_name", e.client_name)
        .text("client_os", e.client_os)
        .text("user_agent", e.user_agent)
        .text("bot", e.bot)
        .text("url", e.url)
        .text("code", e.code)
        .text("error", e.error)
        .text("description", e.description)
        .jsonb("tags", jsonb_text(e.tags))
        .jsonb("user_variables", jsonb_text(e.user_variables))
        .text("token", token)
        .text("signature", r.signature)
        .text("body_format", mailgun::to_string(e.format))
        .text("route", r.route)
        .text("signing_key_label", r.key_label)
        .text("source", to_string(r.source))
        .jsonb("payload", jsonb_text(e.payload))
        .end_row();
}

} // namespace leadhook::storage
