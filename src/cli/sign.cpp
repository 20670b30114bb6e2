// `leadhook sign`: the "send test webhook" button. Prints a correctly signed
// Mailgun webhook (devtools/sign_builder.hpp builds it), or with --curl one
// shell command that posts it.
#include "cli/commands.hpp"
#include "cli/signing_key.hpp"
#include "config/config.hpp"
#include "devtools/curl_command.hpp"
#include "devtools/sign_builder.hpp"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <memory>

namespace leadhook::cli {
namespace {

struct SignOptions {
    devtools::SignRequest request;
    std::string format = "json";
    std::vector<std::string> variables; ///< NAME=VALUE
    std::optional<std::string> key;
    std::optional<std::string> key_file;
    std::optional<std::string> config_path;
    std::optional<std::string> curl;
};

constexpr const char* footer = R"(
Events and formats (json: current webhooks, posted to /api/v1/wh/mg/events;
form and multipart: legacy webhooks, posted to the original per-event routes):
  delivered opened clicked unsubscribed complained   every format
  bounced    json: failed, severity permanent, reason bounce; legacy: bounced
  dropped    json: failed, permanent, reason suppress-bounce; legacy: dropped,
             reason hardfail
  failed     json only: --severity permanent (default; reason bounce) or
             temporary (reason generic); permanent_fail is failed permanent,
             temporary_fail and deferred are failed temporary
  accepted rejected                                  json only
Legacy webhooks never had failed, temporary failures, accepted or rejected:
those combinations are refused. Mailgun posted delivered, opened, clicked and
unsubscribed urlencoded (form) and complained, bounced and dropped multipart;
leadhook reads either, and so may you.

The key: --key, else the first usable entry of --key-file (leadhook's key file
format; entries past their not_after are skipped), else leadhook's own
configuration (-c FILE, LEADHOOK_SIGNING_KEYS, LEADHOOK_SIGNING_KEY_FILE).
The key is never printed.

Output: the body on stdout, exactly (a newline follows only on a terminal),
and its Content-Type as the last line on stderr. With --curl URL: one line,
a shell command (bash or sh) that posts the exact bytes with curl and prints
the answer and "HTTP <status> <url>". URL is a base (http://127.0.0.1:8080),
to which the event's route is appended, or a full URL with a path, used as is.
Exit status: 0; 1 if the output cannot be written; 2 for a usage error (the
message says what to do).
)";

void print_warnings(const std::vector<std::string>& warnings) {
    for (const auto& warning : warnings) {
        std::fprintf(stderr, "leadhook sign: warning: %s\n", warning.c_str());
    }
}

/// --key, else --key-file's first usable entry, else the configuration's.
Expected<std::string, std::string> signing_key(const SignOptions& options, EpochMicros now) {
    if (options.key) {
        if (options.key->empty()) {
            return unexpected(std::string("--key is empty"));
        }
        return *options.key;
    }
    if (options.key_file) {
        return first_key_in_file(*options.key_file, now);
    }
    auto config = config::load_config(options.config_path, config::process_env());
    if (!config) {
        return unexpected(config.error().message + " (or pass --key or --key-file)");
    }
    print_warnings(config->warnings);
    const mailgun::SigningKey* key = devtools::first_usable_key(config->signing_keys, now);
    if (!key) {
        const std::string source = options.config_path ? *options.config_path : "the configuration";
        return unexpected(source + ": no usable signing key (none, or all past their not_after)");
    }
    return key->secret;
}

Expected<mailgun::BodyFormat, std::string> body_format(const std::string& name) {
    for (auto format :
         {mailgun::BodyFormat::json, mailgun::BodyFormat::form, mailgun::BodyFormat::multipart}) {
        if (mailgun::to_string(format) == name) {
            return format;
        }
    }
    return unexpected("--format must be json, form or multipart, not '" + name + "'");
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "leadhook sign: %s\n", message.c_str());
    return 2;
}

int write_out(const std::string& text, bool newline_on_terminal) {
    const bool ok =
        std::fwrite(text.data(), 1, text.size(), stdout) == text.size() &&
        (!newline_on_terminal || !::isatty(STDOUT_FILENO) || std::fputc('\n', stdout) != EOF) &&
        std::fflush(stdout) == 0;
    if (!ok) {
        std::perror("leadhook sign: writing the output");
        return 1;
    }
    return 0;
}

int run_sign(SignOptions options) {
    auto format = body_format(options.format);
    if (!format) {
        return usage_error(format.error());
    }
    options.request.format = *format;
    for (const auto& variable : options.variables) {
        const auto equals = variable.find('=');
        if (equals == std::string::npos) {
            return usage_error("--var needs NAME=VALUE, not '" + variable + "'");
        }
        options.request.variables.emplace_back(variable.substr(0, equals),
                                               variable.substr(equals + 1));
    }
    const SystemClock clock;
    auto key = signing_key(options, clock.now());
    if (!key) {
        return usage_error(key.error());
    }
    auto webhook = devtools::build_webhook(options.request, *key, clock, devtools::system_random());
    if (!webhook) {
        return usage_error(webhook.error().message);
    }
    if (options.curl) {
        auto url = devtools::target_url(*options.curl, webhook->route);
        if (!url) {
            return usage_error(url.error());
        }
        return write_out(devtools::curl_command(webhook->body, webhook->content_type, *url) + "\n",
                         false);
    }
    const int status = write_out(webhook->body, true);
    std::fprintf(stderr, "%s\n", webhook->content_type.c_str());
    return status;
}

} // namespace

std::function<int()> sign_command(CLI::App& command) {
    auto options = std::make_shared<SignOptions>();
    devtools::SignRequest& r = options->request;
    command.footer(footer);
    command.add_option("--event", r.event, "Event: " + devtools::event_names())->required();
    command.add_option("--format", options->format, "json (default), form or multipart");
    command.add_option("--recipient", r.recipient, "Recipient address")->required();
    auto* key = command.add_option("--key", options->key,
                                   "Signing key (visible to ps: prefer "
                                   "--key-file)");
    auto* key_file = command.add_option("--key-file", options->key_file,
                                        "Key file: its first usable entry signs");
    key->excludes(key_file);
    command.add_option("-c,--config", options->config_path, "TOML config file with signing_keys")
        ->envname("LEADHOOK_CONFIG")
        ->check(CLI::ExistingFile);
    command.add_option("--message-id", r.message_id,
                       "Message id, with or without <>; default a fresh one");
    command.add_option("--severity", r.severity, "failed only: permanent (default) or temporary");
    command.add_option("--reason", r.reason, "Failure reason, or rejected's reason");
    command.add_option("--code", r.code, "Failure code (SMTP or Mailgun's 605, 607, ...)");
    command.add_option("--ip", r.ip, "Client address of opened, clicked, unsubscribed");
    command.add_option("--url", r.url, "Clicked link");
    command.add_option("--tag", r.tags, "A tag (repeatable)")->allow_extra_args(false);
    command.add_option("--var", options->variables, "A user variable NAME=VALUE (repeatable)")
        ->allow_extra_args(false);
    command.add_option("--timestamp", r.timestamp, "Signed timestamp, Unix seconds; default now");
    command.add_option("--token", r.token, "Token; default 50 fresh random hex digits");
    command.add_option("--event-id", r.event_id, "json only: Mailgun event id; default fresh");
    command.add_option("--curl", options->curl,
                       "Print a curl command posting it to URL (a base, or a full URL)");
    return [options] { return run_sign(*options); };
}

} // namespace leadhook::cli
