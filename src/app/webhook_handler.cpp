#include "app/webhook_handler.hpp"

#include "mailgun/bounds.hpp"
#include "mailgun/normalize.hpp"
#include "mailgun/signature.hpp"
#include "util/sha256.hpp"

#include <chrono>

namespace leadhook::app {
namespace {

Reply fail(Outcome outcome, std::string message, std::string detail = {}) {
    return Reply{.outcome = outcome, .message = std::move(message), .detail = std::move(detail)};
}

/// The event's own time; else the signed timestamp (for legacy posts they
/// are the same).
EpochMicros event_time_of(const mailgun::Event& event, EpochMicros signed_at) {
    return event.event_time.value_or(signed_at);
}

Reply recorded_reply(const mailgun::Event& event, const storage::Recorded& recorded) {
    Reply reply;
    switch (recorded.status) {
    case storage::RecordStatus::stored:
        reply.outcome = recorded.lead_id ? Outcome::stored : Outcome::unmatched;
        break;
    case storage::RecordStatus::duplicate:
        reply.outcome = Outcome::duplicate;
        break;
    case storage::RecordStatus::forgery:
        return fail(Outcome::forgery, "token already used with a different body");
    }
    reply.lead_id = recorded.lead_id;
    reply.email = event.recipient;
    reply.event = std::string(mailgun::to_string(event.type));
    return reply;
}

Reply store_failed(const storage::StoreError& error) {
    const bool away = error.kind == storage::StoreFailure::unavailable;
    return fail(away ? Outcome::db_unavailable : Outcome::internal_error,
                away ? "database unavailable, retry later" : "internal error",
                error.sqlstate.empty() ? error.message : error.sqlstate + " " + error.message);
}

Reply unverified(const mailgun::VerifyError& error) {
    const bool expired = error.failure == mailgun::VerifyFailure::key_expired;
    Reply reply =
        fail(Outcome::bad_signature, "signature does not verify with any current key",
             expired ? "verifies only with key " + error.expired_label + ", past its not_after"
                     : std::string{});
    reply.signature_failure = expired ? "expired_key" : "mismatch";
    return reply;
}

Reply refused(Outcome outcome, std::string message, std::string_view signature_failure) {
    Reply reply = fail(outcome, std::move(message));
    reply.signature_failure = signature_failure;
    return reply;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The quarantine's name for a refusal; nullptr for what is not kept.
const char* quarantine_reason(Outcome outcome) {
    switch (outcome) {
    case Outcome::bad_signature:
    case Outcome::stale:
    case Outcome::future:
    case Outcome::forgery:
    case Outcome::unprocessable:
        return info(outcome).label.data();
    default:
        return nullptr;
    }
}

} // namespace

Reply WebhookHandler::handle(const http::Request& request, const Route& route) const {
    const auto settings = m_settings.get(); // one snapshot for the whole request
    std::string body_sha256 = sha256(request.body);
    Reply reply = judge(request, route, *settings, body_sha256);
    count(reply);
    if (m_quarantine && quarantine_reason(reply.outcome)) {
        keep(request, reply, *settings, std::move(body_sha256));
    }
    return reply;
}

Reply WebhookHandler::judge(const http::Request& request, const Route& route,
                            const Settings& settings, const std::string& body_sha256) const {
    // The signature first, read without keeping the rest: an unverified
    // body costs no tree, and no copy of itself.
    const auto found = mailgun::read_signature(request.content_type, request.body, settings.limits);
    if (!found) {
        return fail(Outcome::unprocessable, found.error().message);
    }
    if (!*found) {
        return refused(Outcome::bad_signature, "missing signature (timestamp, token and signature)",
                       "missing");
    }
    const mailgun::SignatureParams* signature = &**found;
    if (auto too_long = mailgun::oversized(*signature)) {
        return fail(Outcome::unprocessable, *too_long);
    }
    // Key end dates and the window are judged at arrival, so that reverify
    // decides a quarantined request exactly as it would have been decided.
    const auto verified = mailgun::verify(*signature, settings.keys, request.received_at);
    if (!verified) {
        return unverified(verified.error());
    }
    const auto signed_at = parse_epoch_seconds(signature->timestamp);
    switch (domain::judge_freshness(signed_at, request.received_at, settings.freshness)) {
    case domain::Freshness::stale:
        return refused(Outcome::stale,
                       signed_at ? "signature timestamp is older than the accepted window"
                                 : "signature timestamp is not whole Unix seconds",
                       "stale");
    case domain::Freshness::future:
        return refused(Outcome::future, "signature timestamp is in the future", "future");
    case domain::Freshness::fresh:
        break;
    }
    const EpochMicros signed_time = *signed_at; // fresh: a timestamp of whole seconds
    m_metrics.observe_timestamp_age(static_cast<double>(request.received_at - signed_time) / 1e6);
    auto payload = mailgun::parse_payload(request.content_type, request.body, settings.limits);
    if (!payload) {
        return fail(Outcome::unprocessable, payload.error().message);
    }
    auto event = mailgun::normalize(std::move(*payload), route.implied);
    if (!event) {
        return fail(Outcome::unprocessable, event.error().message);
    }
    if (auto too_long = mailgun::oversized(*event)) {
        return fail(Outcome::unprocessable, *too_long);
    }
    const auto& key = settings.keys[verified->index];
    const storage::EventRecord record{*event,
                                      event_time_of(*event, signed_time),
                                      request.received_at,
                                      signed_time,
                                      signature->token,
                                      signature->signature,
                                      key.label,
                                      body_sha256,
                                      request.path};
    const auto started = std::chrono::steady_clock::now();
    auto recorded = m_store.record(record);
    m_metrics.observe_database(seconds_since(started));
    if (!recorded) {
        return store_failed(recorded.error());
    }
    Reply reply = recorded_reply(*event, *recorded);
    reply.key_label = key.label;
    return reply;
}

void WebhookHandler::count(const Reply& reply) const {
    if (!reply.signature_failure.empty()) {
        m_metrics.count_signature_failure(reply.signature_failure);
    }
    switch (reply.outcome) {
    case Outcome::stored:
    case Outcome::unmatched:
        m_metrics.count_event(reply.event);
        break;
    case Outcome::duplicate:
        m_metrics.count_duplicate();
        break;
    case Outcome::forgery:
        m_metrics.count_forgery();
        break;
    default:
        break;
    }
}

void WebhookHandler::keep(const http::Request& request, Reply& reply, const Settings& settings,
                          std::string body_sha256) const {
    if (static_cast<long long>(request.body.size()) > settings.quarantine_cap.max_body_bytes) {
        // Counted like the store's hourly drops, but decided here for every
        // store: a legacy post with attachments can be this large.
        reply.quarantine = "dropped";
        m_metrics.count_quarantine(reply.quarantine);
        return;
    }
    const storage::QuarantineEntry entry{quarantine_reason(reply.outcome),
                                         reply.message,
                                         request.path,
                                         request.content_type,
                                         request.remote_addr,
                                         request.request_id,
                                         request.body,
                                         std::move(body_sha256),
                                         request.received_at};
    auto kept = m_store.quarantine(entry, settings.quarantine_cap);
    if (!kept) {
        // The answer stands (Mailgun retries a 409 anyway); the log says why
        // the copy is missing.
        reply.quarantine = "failed";
        reply.detail +=
            (reply.detail.empty() ? "" : "; ") + std::string("quarantine: ") + kept.error().message;
    } else {
        reply.quarantine = *kept == storage::Quarantined::stored     ? "stored"
                           : *kept == storage::Quarantined::repeated ? "repeated"
                                                                     : "dropped";
    }
    m_metrics.count_quarantine(reply.quarantine);
}

} // namespace leadhook::app
