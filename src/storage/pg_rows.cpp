#include "storage/pg_rows.hpp"

#include "util/hex.hpp"
#include "util/utf8.hpp"

#include <charconv>

namespace leadhook::storage {
namespace {

using app::LeadState;
using nlohmann::json;

// Timestamps cross the wire as integer microseconds since the epoch, so no
// precision is lost to floating point or time-zone formatting:
//   read:  (extract(epoch from col) * 1000000)::bigint
//   write: timestamptz 'epoch' + $n::bigint * interval '1 microsecond'
// clang-format off
constexpr const char* lead_columns =
    "id, coalesce(followup_email_delivered, false), coalesce(followup_email_bounced, false),"
    " coalesce(followup_email_spam, false), coalesce(followup_email_unsub, false),"
    " coalesce(followup_email_dropped, false), coalesce(is_optout, false),"
    " coalesce(followup_email_opens, 0), coalesce(followup_email_clicks, 0),"
    " followup_email_status,"
    " (extract(epoch from followup_email_status_at) * 1000000)::bigint,"
    " followup_email_open_ip, followup_email_open_device,"
    " (extract(epoch from followup_email_open_at) * 1000000)::bigint,"
    " followup_email_click_ip, followup_email_click_device,"
    " (extract(epoch from followup_email_click_at) * 1000000)::bigint,"
    " dropped_reason, dropped_code, dropped_description, bounce_error, bounce_code,"
    " (extract(epoch from webhook_last_updated) * 1000000)::bigint,"
    " (extract(epoch from followup_email_bounced_at) * 1000000)::bigint,"
    " (extract(epoch from followup_email_dropped_at) * 1000000)::bigint";

// The follow-up email's message id decides; the newest lead for the address
// is the fallback. FOR UPDATE serialises concurrent events for one lead.
const std::string find_by_message_id = std::string("SELECT ") + lead_columns +
    " FROM leads WHERE btrim(followup_email_receipt_id, '<> ') = $1"
    " ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC LIMIT 1 FOR UPDATE";
const std::string find_by_email = std::string("SELECT ") + lead_columns +
    " FROM leads WHERE lower(email_addr) = lower($1)"
    " ORDER BY followup_email_sent_date DESC NULLS LAST, id DESC LIMIT 1 FOR UPDATE";

} // namespace

const char* const update_lead =
    "UPDATE leads SET followup_email_delivered = $2, followup_email_bounced = $3,"
    " followup_email_spam = $4, followup_email_unsub = $5, followup_email_dropped = $6,"
    " is_optout = $7, followup_email_opens = $8, followup_email_clicks = $9,"
    " followup_email_status = $10,"
    " followup_email_status_at = timestamptz 'epoch' + $11::bigint * interval '1 microsecond',"
    " followup_email_open_ip = $12, followup_email_open_device = $13,"
    " followup_email_open_at = timestamptz 'epoch' + $14::bigint * interval '1 microsecond',"
    " followup_email_click_ip = $15, followup_email_click_device = $16,"
    " followup_email_click_at = timestamptz 'epoch' + $17::bigint * interval '1 microsecond',"
    " dropped_reason = $18, dropped_code = $19, dropped_description = $20,"
    " bounce_error = $21, bounce_code = $22,"
    " webhook_last_updated = timestamptz 'epoch' + $23::bigint * interval '1 microsecond',"
    " followup_email_bounced_at = timestamptz 'epoch' + $24::bigint * interval '1 microsecond',"
    " followup_email_dropped_at = timestamptz 'epoch' + $25::bigint * interval '1 microsecond'"
    " WHERE id = $1";

// clang-format on

PgParam text(std::string_view value) {
    return value.empty() ? PgParam{} : PgParam{to_storable_utf8(value)};
}
PgParam number(long long value) {
    return std::to_string(value);
}
PgParam bytea(std::string_view bytes) {
    return "\\x" +
           to_hex(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

namespace {

PgParam flag(bool value) {
    return value ? "true" : "false";
}
PgParam micros(const std::optional<EpochMicros>& t) {
    return t ? number(*t) : PgParam{};
}

/// JSON that jsonb accepts: valid UTF-8 and no NUL, in keys and strings alike.
json storable(const json& value) {
    if (value.is_string()) {
        return to_storable_utf8(value.get_ref<const std::string&>());
    }
    if (value.is_array()) {
        json out = json::array();
        for (const auto& item : value) {
            out.push_back(storable(item));
        }
        return out;
    }
    if (value.is_object()) {
        json out = json::object();
        for (const auto& [key, item] : value.items()) {
            out[to_storable_utf8(key)] = storable(item);
        }
        return out;
    }
    return value;
}
PgParam json_param(const json& value) {
    return storable(value).dump();
}

std::optional<EpochMicros> micros_at(const PgResult& r, int col) {
    long long value = 0;
    const auto s = r.text(0, col);
    if (r.is_null(0, col) ||
        std::from_chars(s.data(), s.data() + s.size(), value).ec != std::errc{}) {
        return std::nullopt;
    }
    return value;
}

} // namespace

LeadState read_lead(const PgResult& r) {
    auto str = [&](int col) { return std::string(r.text(0, col)); };
    auto boolean = [&](int col) { return r.text(0, col) == "t"; };
    auto integer = [&](int col) { return static_cast<int>(micros_at(r, col).value_or(0)); };
    return LeadState{boolean(1),       boolean(2),       boolean(3),       boolean(4),
                     boolean(5),       boolean(6),       integer(7),       integer(8),
                     str(9),           micros_at(r, 10), str(11),          str(12),
                     micros_at(r, 13), str(14),          str(15),          micros_at(r, 16),
                     str(17),          str(18),          str(19),          str(20),
                     str(21),          micros_at(r, 22), micros_at(r, 23), micros_at(r, 24)};
}

std::array<PgParam, 25> lead_params(std::int64_t id, const LeadState& s) {
    return {number(id),
            flag(s.delivered),
            flag(s.bounced),
            flag(s.spam),
            flag(s.unsub),
            flag(s.dropped),
            flag(s.optout),
            number(s.opens),
            number(s.clicks),
            text(s.status),
            micros(s.status_at),
            text(s.open_ip),
            text(s.open_device),
            micros(s.open_at),
            text(s.click_ip),
            text(s.click_device),
            micros(s.click_at),
            text(s.dropped_reason),
            text(s.dropped_code),
            text(s.dropped_description),
            text(s.bounce_error),
            text(s.bounce_code),
            micros(s.last_updated),
            micros(s.bounce_at),
            micros(s.dropped_at)};
}

std::array<PgParam, 33> event_params(const EventRecord& r, std::optional<std::int64_t> lead) {
    const auto& e = r.event;
    return {lead ? number(*lead) : PgParam{},
            text(mailgun::to_string(e.type)),
            text(e.mailgun_event),
            text(e.severity),
            text(e.reason),
            text(e.recipient),
            text(e.message_id),
            text(e.mailgun_event_id),
            number(r.event_time),
            number(r.received_at),
            text(e.domain),
            text(e.ip),
            text(e.country),
            text(e.region),
            text(e.city),
            text(e.device_type),
            text(e.client_type),
            text(e.client_name),
            text(e.client_os),
            text(e.user_agent),
            text(e.bot),
            text(e.url),
            text(e.code),
            text(e.error),
            text(e.description),
            json_param(e.tags),
            json_param(e.user_variables),
            text(r.token),
            text(r.signature),
            text(mailgun::to_string(e.format)),
            text(r.route),
            json_param(e.payload),
            text(r.key_label)};
}

Expected<std::optional<PgResult>, StoreError> find_lead(PgConnection& conn,
                                                        const mailgun::Event& event) {
    const std::array<std::pair<const std::string*, const std::string*>, 2> lookups{{
        {&find_by_message_id, &event.message_id},
        {&find_by_email, &event.recipient},
    }};
    for (const auto& [sql, key] : lookups) {
        if (key->empty()) {
            continue;
        }
        auto found = conn.exec(sql->c_str(), std::array{text(*key)});
        if (!found) {
            return unexpected(found.error());
        }
        if (found->rows() == 1) {
            return std::optional<PgResult>(std::move(found).value());
        }
    }
    return std::optional<PgResult>{};
}

} // namespace leadhook::storage
