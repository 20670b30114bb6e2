#pragma once
// What the micro-benchmarks share: one real corpus body per payload type
// (tests/data/mailgun, see its INDEX.md), read once at startup, and the
// settings the handler would judge them by.
#include "app/router.hpp"
#include "app/settings.hpp"
#include "config/config.hpp"

#include <benchmark/benchmark.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace leadhook::bench {

/// The three shapes Mailgun posts.
enum class Kind { json, form, multipart };

struct Sample {
    std::string file;         ///< relative to the corpus directory
    std::string content_type; ///< as Mailgun sends it
    std::string body;         ///< the bytes, read at startup
};

inline std::string read_corpus(std::string_view name) {
    const auto path = std::filesystem::path(LEADHOOK_CORPUS_DIR) / name;
    auto bytes = leadhook::config::read_text_file(path.string());
    if (!bytes) {
        throw std::runtime_error("cannot read " + path.string());
    }
    return std::move(*bytes);
}

inline Sample load(std::string file, std::string content_type) {
    std::string body = read_corpus(file);
    return Sample{std::move(file), std::move(content_type), std::move(body)};
}

/// All three are signed with the anymail test key, the first in the ring, so
/// each verification costs one HMAC.
inline const Sample& sample(Kind kind) {
    static const Sample json = load("anymail__delivered.json", "application/json");
    static const Sample form =
        load("anymail-legacy__delivered.form", "application/x-www-form-urlencoded");
    static const Sample multipart = load("anymail-legacy__dropped-605-hardfail.multipart",
                                         "multipart/form-data; boundary=BoUnDaRyStRiNg");
    switch (kind) {
    case Kind::json:
        return json;
    case Kind::form:
        return form;
    case Kind::multipart:
        return multipart;
    }
    return json;
}

/// The key ring of the unit tests (tests/unit/support.hpp): both corpus keys.
/// The corpus was signed years ago, so the freshness window is off.
inline app::Settings corpus_settings() {
    app::Settings settings;
    settings.keys = {{"TEST_WEBHOOK_SIGNING_KEY", "anymail", std::nullopt},
                     {"key-0p6mqbf74lb20gzq9f4dhpn9rg3zyk26", "symfony", std::nullopt}};
    settings.freshness.max_age_seconds = 0;
    return settings;
}

inline constexpr EpochMicros arrival = 1'764'000'000'123'456;
inline constexpr std::string_view events_path = "/api/v1/wh/mg/events";

/// Items and bytes per second for a loop that handled one `sample` per iteration.
inline void count(benchmark::State& state, const Sample& sample) {
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(sample.body.size()));
    state.SetLabel(sample.file);
}

} // namespace leadhook::bench
