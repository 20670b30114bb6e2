#pragma once
// Mailgun's API, read with the retry rules of net/retry: one call in, one
// answer body out, or why not. Waits happen through an injected sleep that
// an interrupt cuts short, so tests run without waiting and Ctrl-C is
// honoured during a long Retry-After.
#include "mailgun/api.hpp"
#include "net/http.hpp"
#include "net/retry.hpp"

#include <atomic>
#include <functional>
#include <random>
#include <string>

namespace leadhook::app {

/// Sleeps up to `micros`; false when cut short by an interrupt.
using Sleep = std::function<bool(EpochMicros micros)>;

enum class ReadFailure {
    refused,     ///< 401/403: the key or region is wrong (exit 2)
    failed,      ///< the API failed for good, or out of attempts (exit 1)
    interrupted, ///< an interrupt came while waiting to ask again
};

struct ReadError {
    ReadFailure kind;
    std::string message; ///< no key, no page token
};

class MailgunReader {
  public:
    /// `waiting(why, micros)` is told before each wait.
    MailgunReader(net::HttpTransport& transport, std::string api_key, std::string base,
                  const Clock& clock, Sleep sleep,
                  std::function<void(const std::string&, EpochMicros)> waiting = {},
                  net::RetryPolicy policy = {});

    /// Sends `call` (basic auth api:KEY) until an answer can be used.
    /// A call to another origin than the base is refused unsent: the key
    /// goes with every request.
    Expected<std::string, ReadError> read(const mailgun::api::Call& call);

    const std::string& base() const { return m_base; }

  private:
    net::HttpTransport& m_transport;
    std::string m_api_key;
    std::string m_base;
    const Clock& m_clock;
    Sleep m_sleep;
    std::function<void(const std::string&, EpochMicros)> m_waiting;
    net::RetryPolicy m_policy;
    std::minstd_rand m_jitter;
};

} // namespace leadhook::app
