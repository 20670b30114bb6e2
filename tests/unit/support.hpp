#pragma once
// Helpers shared by the unit suites: the Mailgun corpus, a scriptable fake
// EventStore, a log sink that can be read back, and temporary files.
#include "mailgun/event.hpp"
#include "mailgun/payload.hpp"
#include "storage/event_store.hpp"
#include "util/expected.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace leadhook::test {

/// Boost.Test cannot print std::optional; compare what this shows instead.
template <typename T> std::string show(const std::optional<T>& value) {
    if (!value) {
        return "nullopt";
    }
    std::ostringstream out;
    out << *value;
    return out.str();
}

inline bool contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

/// The error message of a failed Expected, or "". For the message argument of
/// BOOST_TEST, which is evaluated even when the check passes.
template <typename T, typename E> std::string error_text(const Expected<T, E>& result) {
    return result ? std::string() : result.error().message;
}

/// Keys the corpus samples are signed with (see tests/data/mailgun/INDEX.md).
inline const std::string anymail_key = "TEST_WEBHOOK_SIGNING_KEY";
inline const std::string anymail_api_key = "TEST_API_KEY";
inline const std::string symfony_key = "key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26";

inline constexpr std::string_view multipart_type = "multipart/form-data; boundary=BoUnDaRyStRiNg";
inline constexpr std::string_view form_type = "application/x-www-form-urlencoded";
inline constexpr std::string_view json_type = "application/json";

inline std::filesystem::path corpus_dir() {
    return std::filesystem::path(LEADHOOK_CORPUS_DIR);
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

/// Every corpus file (top level) with this extension, e.g. ".form".
inline std::vector<std::filesystem::path> corpus_files(std::string_view extension) {
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::directory_iterator(corpus_dir())) {
        if (entry.path().extension() == extension) {
            paths.push_back(entry.path());
        }
    }
    return paths;
}

/// A field value for messages: "<absent>" for nullptr.
inline std::string text_of(const std::string* value) {
    return value != nullptr ? *value : "<absent>";
}

/// A corpus file by its path relative to the corpus directory.
inline std::string corpus(std::string_view name) {
    return read_file(corpus_dir() / name);
}

/// The Content-Type a corpus sample is posted with, chosen by its extension.
inline std::string content_type_for(std::string_view name) {
    if (name.ends_with(".form")) {
        return std::string(form_type);
    }
    if (name.ends_with(".multipart")) {
        return std::string(multipart_type);
    }
    return std::string(json_type);
}

/// A corpus sample decoded by its Content-Type; throws if it does not decode.
inline mailgun::Payload corpus_payload(std::string_view name) {
    auto payload = mailgun::parse_payload(content_type_for(name), corpus(name));
    if (!payload) {
        throw std::runtime_error(std::string(name) + ": " + payload.error().message);
    }
    return std::move(payload).value();
}

/// Every webhook sample in the corpus directory (recursively), as relative
/// paths with '/' separators; documentation files are left out.
inline std::vector<std::string> corpus_samples() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(corpus_dir())) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name == "INDEX.md" || name == "vectors.json") {
            continue;
        }
        names.push_back(entry.path().lexically_relative(corpus_dir()).generic_string());
    }
    return names;
}

/// The normalised type every webhook sample must get (as mailgun::to_string
/// names it); "<refused>": normalisation must fail.
inline const std::map<std::string, std::string>& corpus_expected_types() {
    static const std::map<std::string, std::string> table{
        {"anymail-legacy__NEG-inbound-route-payload.form", "<refused>"},
        {"anymail-legacy__bounced-550.multipart", "bounced"},
        {"anymail-legacy__bounced-code-5.1.1.multipart", "bounced"},
        {"anymail-legacy__clicked-custom-vars.form", "clicked"},
        {"anymail-legacy__clicked-user-var-name-collisions.form", "clicked"},
        {"anymail-legacy__delivered-x-mailgun-tag.form", "delivered"},
        {"anymail-legacy__delivered-x-mailgun-variables.form", "delivered"},
        {"anymail-legacy__delivered.form", "delivered"},
        {"anymail-legacy__dropped-499-old.multipart", "dropped"},
        {"anymail-legacy__dropped-605-hardfail.multipart", "dropped"},
        {"anymail-legacy__dropped-607-spam.multipart", "dropped"},
        {"anymail-legacy__opened-tags.form", "opened"},
        {"anymail__NEG-bad-signature.json", "delivered"},
        {"anymail__NEG-missing-signature.json", "delivered"},
        {"anymail__accepted-null-delivery-status.json", "accepted"},
        {"anymail__clicked.json", "clicked"},
        {"anymail__complained.json", "complained"},
        {"anymail__delivered-signed-with-api-key.json", "delivered"},
        {"anymail__delivered.json", "delivered"},
        {"anymail__failed-permanent-bounce.json", "bounced"},
        {"anymail__failed-temporary-generic.json", "deferred"},
        {"anymail__failed-temporary-greylisted.json", "deferred"},
        {"anymail__opened.json", "opened"},
        {"anymail__rejected.json", "rejected"},
        {"anymail__unsubscribed.json", "unsubscribed"},
        {"symfony__accepted.json", "accepted"},
        {"symfony__clicked.json", "clicked"},
        {"symfony__complained.json", "complained"},
        {"symfony__delivered.json", "delivered"},
        {"symfony__failed-permanent-bounce.json", "bounced"},
        {"symfony__failed-permanent-no-description.json", "bounced"},
        {"symfony__failed-permanent-suppress-bounce.json", "dropped"},
        {"symfony__failed-temporary.json", "deferred"},
        {"symfony__opened.json", "opened"},
        {"symfony__unsubscribed.json", "unsubscribed"},
        {"docs-event-data/mailgun-docs__accepted-routed.event-data.json", "accepted"},
        {"docs-event-data/mailgun-docs__accepted.event-data.json", "accepted"},
        {"docs-event-data/mailgun-docs__delivered.event-data.json", "delivered"},
        {"docs-event-data/mailgun-docs__failed-permanent-suppress-bounce.event-data.json",
         "dropped"},
        {"docs-event-data/mailgun-docs__failed-temporary.event-data.json", "deferred"},
        {"docs-event-data/mailgun-docs__stored.event-data.json", "stored"},
    };
    return table;
}

/// An EventStore that records what it was given and fails on request.
class FakeStore final : public storage::EventStore {
  public:
    enum class Mode { ok, unavailable, internal, throws };

    struct Call {
        mailgun::Event event;
        EpochMicros event_time;
        EpochMicros received_at;
        EpochMicros signed_at;
        std::string token;
        std::string signature;
        std::string key_label;
        std::string body_sha256;
        std::string route;
    };

    struct Kept {
        std::string reason;
        std::string detail;
        std::string path;
        std::string content_type;
        std::string remote_addr;
        std::string request_id;
        std::string body;
        std::string body_sha256;
        EpochMicros received_at;
        storage::QuarantineCap cap;
    };

    Mode mode = Mode::ok;
    storage::RecordStatus status = storage::RecordStatus::stored;
    std::optional<std::int64_t> lead_id = 42;
    std::vector<Call> calls;

    bool quarantine_fails = false;
    storage::Quarantined quarantine_result = storage::Quarantined::stored;
    std::vector<Kept> kept;

    Expected<storage::Quarantined, storage::StoreError>
    quarantine(const storage::QuarantineEntry& e, const storage::QuarantineCap& cap) override {
        kept.push_back(Kept{std::string(e.reason), std::string(e.detail), std::string(e.path),
                            std::string(e.content_type), std::string(e.remote_addr),
                            std::string(e.request_id), std::string(e.body), e.body_sha256,
                            e.received_at, cap});
        if (quarantine_fails) {
            return unexpected(
                storage::StoreError{storage::StoreFailure::unavailable, "", "quarantine down"});
        }
        return quarantine_result;
    }

    storage::Readiness ready{true, "ok"};
    storage::Readiness readiness() override { return ready; }

    Expected<storage::Recorded, storage::StoreError>
    record(const storage::EventRecord& record) override {
        calls.push_back(Call{record.event, record.event_time, record.received_at, record.signed_at,
                             record.token, record.signature, record.key_label, record.body_sha256,
                             record.route});
        switch (mode) {
        case Mode::ok:
            break;
        case Mode::unavailable:
            return unexpected(storage::StoreError{storage::StoreFailure::unavailable, "08006",
                                                  "connection lost"});
        case Mode::internal:
            return unexpected(storage::StoreError{storage::StoreFailure::internal, "42P01",
                                                  "relation does not exist"});
        case Mode::throws:
            throw std::runtime_error("fake store exploded");
        }
        return storage::Recorded{status, lead_id};
    }
};

/// A FILE* backed by memory; text() returns everything written so far.
class CapturedOutput {
  public:
    CapturedOutput() : m_file(open_memstream(&m_buffer, &m_size)) {
        if (m_file == nullptr) {
            throw std::runtime_error("open_memstream failed");
        }
    }
    ~CapturedOutput() {
        std::fclose(m_file);
        std::free(m_buffer);
    }
    CapturedOutput(const CapturedOutput&) = delete;
    CapturedOutput& operator=(const CapturedOutput&) = delete;

    std::FILE* file() const { return m_file; }
    std::string text() {
        std::fflush(m_file);
        return std::string(m_buffer, m_size);
    }

  private:
    char* m_buffer = nullptr;
    std::size_t m_size = 0;
    std::FILE* m_file;
};

/// application/x-www-form-urlencoded encoding of one name or value.
inline std::string url_encode(std::string_view text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '*') {
            out.push_back(static_cast<char>(c));
        } else if (c == ' ') {
            out.push_back('+');
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0x0f]);
        }
    }
    return out;
}

/// A form body from name/value pairs, in order, repeats allowed.
inline std::string form_body(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string out;
    for (const auto& [name, value] : pairs) {
        out += (out.empty() ? "" : "&") + url_encode(name) + "=" + url_encode(value);
    }
    return out;
}

/// Lines of `text`, each without its '\n'; a last unterminated piece counts too.
inline std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> lines;
    while (!text.empty()) {
        const auto end = text.find('\n');
        lines.emplace_back(text.substr(0, end));
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    }
    return lines;
}

/// A file in the temporary directory, removed when this goes out of scope.
class TempFile {
  public:
    explicit TempFile(std::string_view contents) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "leadhook-test-XXXXXX").string();
        const int fd = mkstemp(pattern.data());
        if (fd < 0) {
            throw std::runtime_error("mkstemp failed");
        }
        ::close(fd);
        m_path = pattern;
        std::ofstream(m_path, std::ios::binary) << contents;
    }
    ~TempFile() {
        std::error_code ignored;
        std::filesystem::remove(m_path, ignored);
    }
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    std::string path() const { return m_path.string(); }

  private:
    std::filesystem::path m_path;
};

} // namespace leadhook::test
