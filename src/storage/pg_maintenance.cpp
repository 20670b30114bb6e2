#include "storage/pg_maintenance.hpp"

#include "storage/pg_rows.hpp"
#include "util/hex.hpp"

#include <array>
#include <charconv>

namespace leadhook::storage {
namespace {

constexpr long long batch_rows = 5000;

// clang-format off
// $1 cut-off (epoch micros), $2 batch size. Each returns the rows it deleted.
constexpr const char* purge_tokens =
    "DELETE FROM webhook_tokens WHERE token IN (SELECT token FROM webhook_tokens"
    " WHERE signed_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
    " LIMIT $2::bigint)";
constexpr const char* purge_quarantine =
    "DELETE FROM webhook_quarantine WHERE id IN (SELECT id FROM webhook_quarantine"
    " WHERE last_seen_at < timestamptz 'epoch' + $1::bigint * interval '1 microsecond'"
    " LIMIT $2::bigint)";
constexpr const char* purge_usage =
    "DELETE FROM webhook_quarantine_usage WHERE hour IN (SELECT hour FROM"
    " webhook_quarantine_usage WHERE hour < timestamptz 'epoch' + $1::bigint * interval"
    " '1 microsecond' LIMIT $2::bigint)";

constexpr const char* list_quarantine =
    "SELECT id, (extract(epoch from received_at) * 1000000)::bigint, attempts, reason, path,"
    " content_type, remote_addr, request_id, encode(body, 'hex') FROM webhook_quarantine"
    " WHERE id > $1::bigint ORDER BY id LIMIT $2::integer";
constexpr const char* remove_quarantined = "DELETE FROM webhook_quarantine WHERE id = $1::bigint";
// clang-format on

long long integer_at(const PgResult& r, int row, int col) {
    long long value = 0;
    const auto s = r.text(row, col);
    std::from_chars(s.data(), s.data() + s.size(), value);
    return value;
}

QuarantinedRequest read_quarantined(const PgResult& r, int row) {
    auto str = [&](int col) { return std::string(r.text(row, col)); };
    const auto body = from_hex(r.text(row, 8));
    return QuarantinedRequest{integer_at(r, row, 0),
                              integer_at(r, row, 1),
                              static_cast<int>(integer_at(r, row, 2)),
                              str(3),
                              str(4),
                              str(5),
                              str(6),
                              str(7),
                              body ? std::string(body->begin(), body->end()) : std::string{}};
}

} // namespace

Expected<long long, StoreError> PgMaintenance::delete_in_batches(const char* sql,
                                                                 EpochMicros before) {
    long long total = 0;
    for (;;) {
        auto deleted = m_conn.exec(sql, std::array{number(before), number(batch_rows)});
        if (!deleted) {
            return unexpected(deleted.error());
        }
        const long long n = deleted->affected();
        total += n;
        if (n < batch_rows) {
            return total;
        }
    }
}

Expected<Purged, StoreError> PgMaintenance::purge(std::optional<EpochMicros> tokens_before,
                                                  EpochMicros quarantine_before) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    Purged purged;
    if (tokens_before) {
        auto tokens = delete_in_batches(purge_tokens, *tokens_before);
        if (!tokens) {
            return unexpected(tokens.error());
        }
        purged.tokens = *tokens;
    }
    auto quarantined = delete_in_batches(purge_quarantine, quarantine_before);
    if (!quarantined) {
        return unexpected(quarantined.error());
    }
    purged.quarantined = *quarantined;
    if (auto usage = delete_in_batches(purge_usage, quarantine_before); !usage) {
        return unexpected(usage.error());
    }
    return purged;
}

Expected<std::vector<QuarantinedRequest>, StoreError> PgMaintenance::list(std::int64_t after_id,
                                                                          int limit) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    auto rows = m_conn.exec(list_quarantine, std::array{number(after_id), number(limit)});
    if (!rows) {
        return unexpected(rows.error());
    }
    std::vector<QuarantinedRequest> out;
    for (int row = 0; row < rows->rows(); ++row) {
        out.push_back(read_quarantined(*rows, row));
    }
    return out;
}

Expected<bool, StoreError> PgMaintenance::remove(std::int64_t id) {
    if (auto error = m_conn.ensure_connected()) {
        return unexpected(*error);
    }
    auto deleted = m_conn.exec(remove_quarantined, std::array{number(id)});
    if (!deleted) {
        return unexpected(deleted.error());
    }
    return deleted->affected() > 0;
}

} // namespace leadhook::storage
