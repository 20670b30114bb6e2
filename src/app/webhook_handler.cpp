#include "app/webhook_handler.hpp"

#include "mailgun/normalize.hpp"
#include "mailgun/signature.hpp"

namespace leadhook::app {
namespace {

Reply fail(Outcome outcome, std::string message) {
    return Reply{.outcome = outcome, .message = std::move(message)};
}

/// The event's own time; else the signed timestamp (for legacy posts they
/// are the same); else the moment it arrived.
EpochMicros event_time_of(const mailgun::Event& event, const mailgun::SignatureParams& sig,
                          EpochMicros received_at) {
    if (event.event_time) {
        return *event.event_time;
    }
    return parse_epoch_seconds(sig.timestamp).value_or(received_at);
}

Reply stored(const mailgun::Event& event, const storage::Recorded& recorded) {
    Reply reply{.outcome = recorded.lead_id ? Outcome::stored : Outcome::unmatched};
    reply.lead_id = recorded.lead_id;
    reply.email = event.recipient;
    reply.event = std::string(mailgun::to_string(event.type));
    return reply;
}

Reply store_failed(const storage::StoreError& error) {
    const bool away = error.kind == storage::StoreFailure::unavailable;
    Reply reply = fail(away ? Outcome::db_unavailable : Outcome::internal_error,
                       away ? "database unavailable, retry later" : "internal error");
    reply.detail = error.sqlstate.empty() ? error.message : error.sqlstate + " " + error.message;
    return reply;
}

} // namespace

Reply WebhookHandler::handle(const http::Request& request, const Route& route) const {
    auto payload = mailgun::parse_payload(request.content_type, request.body);
    if (!payload) {
        return fail(Outcome::unprocessable, payload.error().message);
    }
    const auto signature = mailgun::find_signature(*payload);
    if (!signature) {
        return fail(Outcome::bad_signature, "missing signature (timestamp, token and signature)");
    }
    if (!mailgun::verify(*signature, m_keys)) {
        return fail(Outcome::bad_signature, "signature does not verify with any configured key");
    }
    auto event = mailgun::normalize(*payload, route.implied);
    if (!event) {
        return fail(Outcome::unprocessable, event.error().message);
    }
    const storage::EventRecord record{*event,
                                      event_time_of(*event, *signature, request.received_at),
                                      request.received_at,
                                      signature->token,
                                      signature->signature,
                                      request.path};
    auto recorded = m_store.record(record);
    if (!recorded) {
        return store_failed(recorded.error());
    }
    return stored(*event, *recorded);
}

} // namespace leadhook::app
