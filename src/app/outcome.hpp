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
    index,         ///< the route map
    bad_signature, ///< missing or wrong: retried, so a key fix within 8 h recovers it
    unprocessable, ///< can never succeed: Mailgun must not retry
    too_large,
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
    std::string allow{};      ///< for method_not_allowed
    std::string index_json{}; ///< for index
    std::string detail{};     ///< for the log only: SQLSTATE, cause
};

http::Response to_response(const Reply& reply);

} // namespace leadhook::app
