#pragma once
// Every way a request can end, and the one table that maps each to an HTTP
// status. Mailgun reads the status: 200 is done, 406 is dropped for good,
// anything else is retried for about eight hours.
#include "http/request.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadhook::app {

enum class Outcome {
    stored,        ///< committed, lead matched
    unmatched,     ///< committed, no lead matched
    duplicate,     ///< seen before; nothing changed
    index,         ///< the route map
    metrics,       ///< Prometheus text
    healthy,       ///< the process answers
    ready,         ///< and its database and schema are fit to store events
    not_ready,     ///< database unreachable or schema not current
    bad_signature, ///< missing or wrong: retried, so a key fix within 8 h recovers it
    stale,         ///< signed too long ago: a replay, or a retry past the window
    future,        ///< signed ahead of our clock by more than the allowed skew
    forgery,       ///< a used token with another body: never acceptable
    unprocessable, ///< can never succeed: Mailgun must not retry
    too_large,
    bad_request, ///< the request did not arrive as declared
    busy,        ///< the bytes in flight are at their bound: retried later
    method_not_allowed,
    not_found,
    db_unavailable, ///< nothing written; Mailgun retries
    internal_error,
};

struct OutcomeInfo {
    Outcome outcome;
    int status;
    std::string_view label; ///< for logs and metrics
};

const OutcomeInfo& info(Outcome outcome);

/// What a handler decided, before it becomes bytes.
struct Reply {
    Outcome outcome{};
    std::string message{}; ///< error text for the client; never secrets
    std::optional<std::int64_t> lead_id{};
    std::string email{};
    std::string event{};
    std::string allow{};        ///< for method_not_allowed
    std::string index_json{};   ///< for index
    std::string metrics_text{}; ///< for metrics
    std::string reason{};       ///< for not_ready
    std::string_view route{};   ///< the route's name, for metrics; empty when none matched
    std::string_view signature_failure{}; ///< missing, mismatch, expired_key, stale, future
    std::string key_label{};              ///< the key that verified the signature, for the log
    std::string quarantine{};             ///< what the quarantine did with it, for the log
    std::string detail{};                 ///< for the log only: SQLSTATE, cause
};

http::Response to_response(const Reply& reply);

} // namespace leadhook::app
