#include "app/mailgun_reader.hpp"

namespace leadhook::app {

MailgunReader::MailgunReader(net::HttpTransport& transport, std::string api_key, std::string base,
                             const Clock& clock, Sleep sleep,
                             std::function<void(const std::string&, EpochMicros)> waiting,
                             net::RetryPolicy policy)
    : m_transport(transport), m_api_key(std::move(api_key)), m_base(std::move(base)),
      m_clock(clock), m_sleep(std::move(sleep)), m_waiting(std::move(waiting)), m_policy(policy),
      m_jitter(static_cast<std::minstd_rand::result_type>(clock.now())) {}

Expected<std::string, ReadError> MailgunReader::read(const mailgun::api::Call& call) {
    if (!mailgun::api::same_origin(call.url, m_base)) {
        return unexpected(
            ReadError{ReadFailure::failed, "Mailgun named a next page on another host than " +
                                               m_base + "; not sending the API key there"});
    }
    net::HttpRequest request;
    request.method = call.method;
    request.url = call.url;
    request.user = "api";
    request.password = m_api_key;
    request.headers.emplace_back("Accept", "application/json");
    if (call.method == "POST") {
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = call.json_body;
    }
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    for (int attempt = 1;; ++attempt) {
        auto answer = m_transport.send(request);
        auto verdict = net::judge(answer, attempt, m_clock.now(), jitter(m_jitter), m_policy);
        switch (verdict.next) {
        case net::Next::use:
            return std::move(answer->body);
        case net::Next::stop_auth:
            return unexpected(ReadError{ReadFailure::refused, std::move(verdict.why)});
        case net::Next::stop:
            return unexpected(ReadError{ReadFailure::failed, std::move(verdict.why)});
        case net::Next::retry:
            break;
        }
        if (m_waiting) {
            m_waiting(verdict.why, verdict.wait);
        }
        if (!m_sleep(verdict.wait)) {
            return unexpected(ReadError{ReadFailure::interrupted, "interrupted while waiting"});
        }
    }
}

} // namespace leadhook::app
