#pragma once
// When to try again after failures: waits doubling up to a bound, with
// jitter. Pure arithmetic over injected time and jitter, so it is
// unit-tested alone. PgConnection owns one for its connects (while it says
// "wait", the caller answers "unavailable" at once); net/retry takes its
// waits for Mailgun's API. It does not connect or sleep.
#include "util/clock.hpp"

namespace leadhook {

struct BackoffPolicy {
    EpochMicros first_wait = 500'000;  ///< after the first failure that is not retried at once
    EpochMicros max_wait = 30'000'000; ///< waits double up to this, jitter included
    /// Failures in a row after which the next attempt is still made at once:
    /// losing the connection and failing to reconnect is what a server
    /// restart looks like, and it is usually back by the next request.
    int free_failures = 1;
};

class Backoff {
  public:
    explicit Backoff(BackoffPolicy policy = {}) : m_policy(policy) {}

    /// Whether an attempt may be made at `now`. Also true when `now` lies
    /// further before the end of the wait than any wait lasts: the wall
    /// clock was set back, and a stale deadline must not block for hours.
    bool may_try(EpochMicros now) const;

    /// A failed attempt that ended at `now`. `jitter` in [0, 1] shortens the
    /// wait by up to a quarter, so that workers which failed together do not
    /// all come back together.
    void failed(EpochMicros now, double jitter);

    /// A successful attempt: no more waiting. True when it ended a run of
    /// failures.
    bool succeeded();

    int failures() const { return m_failures; }
    /// When the next attempt may be made (meaningful while !may_try()).
    EpochMicros retry_at() const { return m_retry_at; }

    /// The wait after `failures` failures in a row, before jitter: 0 up to
    /// free_failures, then first_wait doubling up to max_wait.
    EpochMicros wait_after(int failures) const;

  private:
    BackoffPolicy m_policy;
    int m_failures = 0;
    EpochMicros m_retry_at = 0;
};

/// `wait` shortened by up to a quarter: `jitter` in [0, 1] (clamped), so that
/// clients that failed together do not all come back together.
EpochMicros shortened_by_jitter(EpochMicros wait, double jitter);

} // namespace leadhook
