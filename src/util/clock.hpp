#pragma once
// Time is injected so that request handling is deterministic under test.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leadhook {

/// Microseconds since the Unix epoch: the resolution Mailgun and PostgreSQL share.
using EpochMicros = std::int64_t;

/// Whole Unix seconds as text ("1461261330") to microseconds; nullopt for
/// anything else, including values outside 1970..5138, which no event has.
std::optional<EpochMicros> parse_epoch_seconds(std::string_view text);

/// "2026-11-29T01:02:03.456789Z".
std::string format_utc(EpochMicros ts);

class Clock {
  public:
    virtual ~Clock() = default;
    virtual EpochMicros now() const = 0;
};

class SystemClock final : public Clock {
  public:
    EpochMicros now() const override;
};

/// A clock that says what it is told; for tests and replays.
class FixedClock final : public Clock {
  public:
    explicit FixedClock(EpochMicros t) : m_now(t) {}
    EpochMicros now() const override { return m_now; }
    void set(EpochMicros t) { m_now = t; }

  private:
    EpochMicros m_now;
};

} // namespace leadhook
