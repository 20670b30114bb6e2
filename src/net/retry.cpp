#include "net/retry.hpp"

#include "util/backoff.hpp"
#include "util/rfc2822.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>

namespace leadhook::net {
namespace {

/// util/Backoff's doubling from the first failure on (none is free).
EpochMicros backoff(int attempt, double jitter, const RetryPolicy& policy) {
    const Backoff doubling(BackoffPolicy{
        .first_wait = policy.first_wait, .max_wait = policy.max_wait, .free_failures = 0});
    return shortened_by_jitter(doubling.wait_after(attempt), jitter);
}

std::string seconds_text(EpochMicros micros) {
    return std::to_string((micros + 999'999) / 1'000'000) + " s";
}

Verdict again(const std::string& why, EpochMicros wait, int attempt, const RetryPolicy& policy) {
    if (attempt >= policy.max_attempts) {
        return {Next::stop, 0, why + "; gave up after " + std::to_string(attempt) + " attempts"};
    }
    return {Next::retry, wait, why + "; trying again in " + seconds_text(wait)};
}

} // namespace

std::optional<EpochMicros> retry_after_wait(std::string_view value, EpochMicros now) {
    long long seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec == std::errc{} && end == value.data() + value.size() && seconds >= 0 &&
        seconds < 1'000'000'000) {
        return seconds * 1'000'000;
    }
    if (const auto at = parse_rfc2822(value)) {
        return std::max<EpochMicros>(0, *at - now);
    }
    return std::nullopt;
}

std::optional<EpochMicros> rate_limited_wait(const HttpResponse& response, EpochMicros now) {
    if (response.retry_after) {
        if (auto wait = retry_after_wait(*response.retry_after, now)) {
            return wait;
        }
    }
    // A Unix time in seconds (possibly fractional) or milliseconds.
    auto until = [now](const std::optional<std::string>& value,
                       double micros_per_unit) -> std::optional<EpochMicros> {
        if (!value) {
            return std::nullopt;
        }
        double at = 0;
        const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), at);
        if (ec != std::errc{} || end != value->data() + value->size() || !(at > 0)) {
            return std::nullopt;
        }
        return std::max<EpochMicros>(0, static_cast<EpochMicros>(at * micros_per_unit) - now);
    };
    if (auto wait = until(response.rate_limit_reset, 1e6)) {
        return wait;
    }
    return until(response.request_reset, 1e3);
}

std::string error_summary(std::string_view body) {
    std::string text(body);
    const auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string()) {
        text = parsed["message"].get<std::string>();
    }
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
    if (text.size() > 200) {
        text.resize(197);
        text += "...";
    }
    return text;
}

Verdict judge(const Expected<HttpResponse, TransportError>& result, int attempt, EpochMicros now,
              double jitter, const RetryPolicy& policy) {
    if (!result) {
        const auto& error = result.error();
        if (error.tls) {
            return {Next::stop, 0, "TLS failed: " + error.message};
        }
        return again("no answer: " + error.message, backoff(attempt, jitter, policy), attempt,
                     policy);
    }
    const long status = result->status;
    const std::string said = "HTTP " + std::to_string(status);
    if (status >= 200 && status < 300) {
        return {Next::use, 0, said};
    }
    if (status == 401 || status == 403) {
        return {Next::stop_auth, 0,
                said + " (" + error_summary(result->body) +
                    "): Mailgun refused the API key; check --api-key-file, the region "
                    "(--api-base) and that the key may read this domain"};
    }
    if (status == 429) {
        const auto asked = rate_limited_wait(*result, now);
        if (asked && *asked > policy.max_retry_after) {
            return {Next::stop, 0,
                    said + ": rate limited for " + seconds_text(*asked) + "; run again later"};
        }
        return again(said + " (rate limited)", asked.value_or(backoff(attempt, jitter, policy)),
                     attempt, policy);
    }
    if (status == 408 || status >= 500) {
        return again(said + " (" + error_summary(result->body) + ")",
                     backoff(attempt, jitter, policy), attempt, policy);
    }
    return {Next::stop, 0, said + ": " + error_summary(result->body)};
}

} // namespace leadhook::net
