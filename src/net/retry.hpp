#pragma once
// What to do with an API answer: use it, wait and ask again, or stop. Pure
// (time and jitter are passed in), so every branch is unit-tested.
//   2xx            use it
//   401, 403       stop: the key is wrong or may not read this domain
//   429            wait as Retry-After says (seconds or an HTTP date), else as
//                  X-RateLimit-Reset (Unix seconds) or X-Request-Reset (Unix
//                  ms) say, else back off
//   408, 5xx, no answer at all
//                  back off: 1 s doubling up to 60 s, a quarter of jitter
//   TLS failure, other 4xx
//                  stop: asking again cannot help
#include "net/http.hpp"
#include "util/clock.hpp"

#include <string>

namespace leadhook::net {

struct RetryPolicy {
    int max_attempts = 8;                      ///< a request's tries, the first included
    EpochMicros first_wait = 1'000'000;        ///< after the first failure
    EpochMicros max_wait = 60'000'000;         ///< backoff doubles up to this
    EpochMicros max_retry_after = 900'000'000; ///< a longer Retry-After stops instead
};

enum class Next {
    use,       ///< a 2xx answer
    retry,     ///< wait `wait`, then send the same request again
    stop_auth, ///< 401/403: exit 2, the configuration is wrong
    stop,      ///< anything else that asking again cannot fix, or out of attempts
};

struct Verdict {
    Next next = Next::use;
    EpochMicros wait = 0;
    std::string why; ///< for the progress output and the final error; no secrets
};

/// `attempt` is 1 for the first try of a request. `jitter` in [0, 1]
/// shortens a backoff wait by up to a quarter.
Verdict judge(const Expected<HttpResponse, TransportError>& result, int attempt, EpochMicros now,
              double jitter, const RetryPolicy& policy = {});

/// Retry-After as a wait from `now`: delta-seconds or an HTTP date (a date in
/// the past is 0). nullopt when it is neither.
std::optional<EpochMicros> retry_after_wait(std::string_view value, EpochMicros now);

/// When a 429 may be asked again, from its headers; nullopt when none says.
std::optional<EpochMicros> rate_limited_wait(const HttpResponse& response, EpochMicros now);

/// Mailgun's error answers are {"message": "..."}; the message, else the
/// start of the body, on one line and at most 200 bytes.
std::string error_summary(std::string_view body);

} // namespace leadhook::net
