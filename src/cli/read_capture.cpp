// `leadhook read-capture`: reads capture files (and re-signs their bodies)
// for scripts/replay, which keeps only the sending, the pacing and the
// report. One JSON object per file on stdout, so the script needs no parser
// of its own for captures, key files or bodies.
#include "capture/capture_read.hpp"
#include "cli/commands.hpp"
#include "cli/signing_key.hpp"
#include "config/config.hpp"
#include "devtools/resign.hpp"
#include "mailgun/payload.hpp"
#include "util/hex.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace leadhook::cli {
namespace {

struct ReadCaptureOptions {
    std::vector<std::string> files;
    std::optional<std::string> resign_key_file;
    std::optional<std::string> timestamp;
    bool fresh_timestamp = false;
};

constexpr const char* footer = R"(
Prints one JSON object per file, in the order given, on its own line:
  {"file", "method", "target", "headers": [[name, value], ...] (without the
   X-Leadhook-* lines), "content_type", "body_hex", "resigned",
   "signed": {"timestamp", "token", "signature"} (what the body sent now
   carries, as leadhook reads it; null when it has no complete signature or
   leadhook would refuse the body)}
or {"file", "error"} for a file that cannot be read or re-signed.
--resign KEYFILE rewrites only the signature fields (docs/debugging.md,
"scripts/replay"): the timestamp is the captured one unless --timestamp or
--fresh-timestamp, the token is derived from the key, the captured token and
the timestamp, so the same inputs always give the same bytes.
Exit status: 0 (errors are per file, in the output); 1 if the output cannot
be written; 2 for a usage error.
)";

/// The signature a body carries, as leadhook reads it; null for none.
nlohmann::json signed_json(std::string_view content_type, std::string_view body) {
    const auto found = mailgun::read_signature(content_type, body);
    if (!found || !*found) {
        return nullptr;
    }
    const mailgun::SignatureParams& fields = **found;
    return {
        {"timestamp", fields.timestamp}, {"token", fields.token}, {"signature", fields.signature}};
}

struct Signer {
    std::string key;
    std::optional<std::string> timestamp; ///< nullopt: each capture's own
    std::int64_t now_seconds;
};

/// One file's line: the request to send, or the error.
nlohmann::json describe(const std::string& path, const std::optional<Signer>& signer) {
    nlohmann::json line{{"file", path}};
    const auto file = config::read_text_file(path); // binary-safe: bytes as they are
    if (!file) {
        line["error"] = "cannot read the file";
        return line;
    }
    auto request = capture::parse_capture(*file);
    if (!request) {
        line["error"] = request.error();
        return line;
    }
    const std::string* content_type = request->header("Content-Type");
    const std::string type = content_type != nullptr ? *content_type : "";
    std::string body = request->body;
    if (signer) {
        auto resigned =
            devtools::resign(type, body, signer->key, signer->timestamp, signer->now_seconds);
        if (!resigned) {
            line["error"] = "cannot re-sign: " + resigned.error();
            return line;
        }
        body = std::move(resigned->body);
    }
    line["method"] = request->method;
    line["target"] = request->target;
    line["headers"] = request->headers;
    line["content_type"] = content_type != nullptr ? nlohmann::json(type) : nullptr;
    line["body_hex"] = to_hex(std::string_view(body));
    line["resigned"] = signer.has_value();
    line["signed"] = signed_json(type, body);
    return line;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "leadhook read-capture: %s\n", message.c_str());
    return 2;
}

int run(const ReadCaptureOptions& options) {
    const SystemClock clock;
    std::optional<Signer> signer;
    if (options.resign_key_file) {
        auto key = first_key_in_file(*options.resign_key_file, clock.now());
        if (!key) {
            return usage_error("--resign " + key.error());
        }
        if (options.timestamp && !parse_epoch_seconds(*options.timestamp)) {
            return usage_error("--timestamp must be Unix seconds, not '" + *options.timestamp +
                               "'");
        }
        const std::int64_t now_seconds = clock.now() / 1'000'000;
        signer = Signer{std::move(key).value(),
                        options.fresh_timestamp ? std::to_string(now_seconds) : options.timestamp,
                        now_seconds};
    }
    for (const auto& path : options.files) {
        const std::string text =
            describe(path, signer).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
            "\n";
        if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) {
            std::perror("leadhook read-capture: writing the output");
            return 1;
        }
    }
    if (std::fflush(stdout) != 0) {
        std::perror("leadhook read-capture: writing the output");
        return 1;
    }
    return 0;
}

} // namespace

std::function<int()> read_capture_command(CLI::App& command) {
    auto options = std::make_shared<ReadCaptureOptions>();
    command.footer(footer);
    command.add_option("files", options->files, "Capture files")->required();
    auto* resign = command.add_option("--resign", options->resign_key_file,
                                      "Re-sign with the first usable key of this key file");
    auto* timestamp = command.add_option("--timestamp", options->timestamp,
                                         "Re-sign with this timestamp (Unix seconds)");
    auto* fresh = command.add_flag("--fresh-timestamp", options->fresh_timestamp,
                                   "Re-sign with the current time");
    timestamp->needs(resign)->excludes(fresh);
    fresh->needs(resign);
    return [options] { return run(*options); };
}

} // namespace leadhook::cli
