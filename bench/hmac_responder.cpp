// leadhook_hmac_responder: issue 6's third ceiling, a minimal FastCGI
// responder that only checks the HMAC. It runs on leadhook's own edge
// (fcgi::FcgiServer: the same socket, dispatcher, kept-alive connections and
// worker threads) and, per request, does what leadhook must do before it
// touches the database at the least: decode the body by its Content-Type
// (mailgun::parse_payload), find the signature and verify it against the key
// (mailgun::verify). No route table, freshness check, normalisation, body
// hash, metrics, per-request log line or database.
//
//   POST (any path)  200 {"status":"verified"} when a key verifies, 406
//                    {"error":...} when the body cannot be parsed or the
//                    signature is missing or wrong
//   anything else    200 {"status":"ok"} (scripts/bench sends GET
//                    /api/v1/health when a body pool runs dry)
//
// Usage: leadhook_hmac_responder --listen unix:/path --key-file FILE
//                                [--threads N] [--socket-mode 0660]
// The key file holds the signing key on its first line that is neither empty
// nor a # comment (the first word of it, as in leadhook's key file). The key
// is never printed. SIGTERM or SIGINT stops it (exit 0).
#include "config/config.hpp"
#include "fcgi/fcgi_server.hpp"
#include "mailgun/key_ring.hpp"
#include "mailgun/payload.hpp"
#include "obs/log.hpp"
#include "util/clock.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <pthread.h>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace leadhook;

namespace {

struct Options {
    std::string listen;
    std::string key_file;
    int threads = 8;
    unsigned socket_mode = 0660;
};

[[noreturn]] void usage(const char* message) {
    if (message != nullptr) {
        std::fprintf(stderr, "leadhook_hmac_responder: %s\n", message);
    }
    std::fprintf(stderr, "usage: leadhook_hmac_responder --listen unix:/path|host:port "
                         "--key-file FILE [--threads N] [--socket-mode OCTAL]\n");
    std::exit(2);
}

std::optional<long> parse_long(const char* text, int base) {
    char* end = nullptr;
    errno = 0;
    const long value = std::strtol(text, &end, base);
    if (errno != 0 || end == text || *end != '\0') {
        return std::nullopt;
    }
    return value;
}

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            usage(nullptr);
        }
        if (i + 1 >= argc) {
            usage("every option takes a value");
        }
        const char* value = argv[++i];
        if (arg == "--listen") {
            options.listen = value;
        } else if (arg == "--key-file") {
            options.key_file = value;
        } else if (arg == "--threads") {
            const auto n = parse_long(value, 10);
            if (!n || *n < 1 || *n > 1024) {
                usage("--threads takes 1..1024");
            }
            options.threads = static_cast<int>(*n);
        } else if (arg == "--socket-mode") {
            const auto mode = parse_long(value, 8);
            if (!mode || *mode < 0 || *mode > 0777) {
                usage("--socket-mode takes an octal mode such as 0660");
            }
            options.socket_mode = static_cast<unsigned>(*mode);
        } else {
            usage("unknown option");
        }
    }
    if (options.listen.empty() || options.key_file.empty()) {
        usage("--listen and --key-file are required");
    }
    return options;
}

/// The first word of the first line that is neither blank nor a comment.
std::optional<std::string> key_from_text(std::string_view text) {
    constexpr std::string_view blank = " \t\r";
    while (!text.empty()) {
        const auto eol = text.find('\n');
        std::string_view line = text.substr(0, eol);
        text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
        const auto start = line.find_first_not_of(blank);
        if (start == std::string_view::npos || line[start] == '#') {
            continue;
        }
        line = line.substr(start);
        return std::string(line.substr(0, line.find_first_of(blank)));
    }
    return std::nullopt;
}

http::Response answer(int status, std::string body) {
    http::Response response;
    response.status = status;
    response.body = std::move(body);
    return response;
}

/// The whole per-request work: parse, find the signature, verify.
http::Response handle(const http::Request& request, std::span<const mailgun::SigningKey> keys) {
    if (request.method != "POST") {
        return answer(200, R"({"status":"ok"})");
    }
    if (request.body_too_large) {
        return answer(413, R"({"error":"body too large"})");
    }
    const auto payload = mailgun::parse_payload(request.content_type, request.body);
    if (!payload) {
        return answer(406, R"({"error":"unprocessable body"})");
    }
    const auto signature = mailgun::find_signature(*payload);
    if (!signature) {
        return answer(406, R"({"error":"missing signature"})");
    }
    if (!mailgun::verify(*signature, keys, request.received_at)) {
        return answer(406, R"({"error":"bad signature"})");
    }
    return answer(200, R"({"status":"verified"})");
}

} // namespace

int main(int argc, char** argv) {
    const Options options = parse_options(argc, argv);

    // Only the signal thread sees these; a vanished peer is a write error.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    const auto text = config::read_text_file(options.key_file);
    if (!text) {
        std::fprintf(stderr, "leadhook_hmac_responder: cannot read the key file %s\n",
                     options.key_file.c_str());
        return 1;
    }
    auto secret = key_from_text(*text);
    if (!secret || secret->empty()) {
        std::fprintf(stderr, "leadhook_hmac_responder: no key in %s\n", options.key_file.c_str());
        return 1;
    }
    std::vector<mailgun::SigningKey> keys;
    keys.push_back({*secret, mailgun::default_label(*secret), std::nullopt});

    SystemClock clock;
    obs::Logger log(stderr, clock);
    fcgi::ServerOptions server_options;
    server_options.listen = options.listen;
    server_options.socket_mode = options.socket_mode;
    server_options.threads = options.threads;
    auto server = fcgi::FcgiServer::open(server_options, log, clock);
    if (!server) {
        std::fprintf(stderr, "leadhook_hmac_responder: %s\n", server.error().c_str());
        return 1;
    }

    std::thread signal_thread([&] {
        int signal = 0;
        while (sigwait(&signals, &signal) != 0) {
        }
        server->stop();
    });
    const std::span<const mailgun::SigningKey> key_span(keys);
    const auto result = server->serve(
        [key_span]() -> fcgi::Handler {
            return [key_span](const http::Request& request) { return handle(request, key_span); };
        },
        [&] {
            log.write("info", {{"msg", "leadhook_hmac_responder serving"},
                               {"socket", server->description()},
                               {"threads", std::to_string(options.threads)},
                               {"key", keys.front().label}});
        });
    if (!result.stopped) {
        log.error("every worker exited");
        pthread_kill(signal_thread.native_handle(), SIGTERM);
    }
    signal_thread.join();
    if (result.workers_left > 0) {
        std::_Exit(1);
    }
    log.write("info", {{"msg", "leadhook_hmac_responder stopped"},
                       {"requests", std::to_string(result.served)}});
    return result.stopped ? 0 : 1;
}
