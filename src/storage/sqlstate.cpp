#include "storage/sqlstate.hpp"

#include <array>

namespace leadhook::storage {
namespace {

// Prefixes of SQLSTATEs that say "not now" rather than "never":
constexpr std::array<std::string_view, 10> transient{
    "08",    // connection exception
    "53",    // insufficient resources: too many connections, disk full, out of memory
    "57P01", // admin_shutdown
    "57P02", // crash_shutdown
    "57P03", // cannot_connect_now (starting up, recovering)
    "57014", // query_canceled: statement_timeout hit a stuck database
    "40001", // serialization_failure
    "40P01", // deadlock_detected
    "25006", // read_only_sql_transaction: a failover left us on a standby
    "55P03", // lock_not_available: lock_timeout, e.g. behind a purge's DDL
};

} // namespace

StoreFailure classify_sqlstate(std::string_view sqlstate) {
    if (sqlstate.empty()) {
        return StoreFailure::unavailable;
    }
    for (auto prefix : transient) {
        if (sqlstate.starts_with(prefix)) {
            return StoreFailure::unavailable;
        }
    }
    return StoreFailure::internal;
}

} // namespace leadhook::storage
