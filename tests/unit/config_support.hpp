#pragma once
// Helpers shared by the config suites: a fake environment and the results of
// parsing, applying and validating, as text a test can compare.
#include "config/config.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace leadhook::test::config_support {

using config::Config;
using Strings = std::vector<std::string>;

/// A fake environment: only the variables in `vars` are set.
inline config::Getenv env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const char* name) -> std::optional<std::string> {
        auto it = vars.find(name);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    };
}

inline Config parse_ok(std::string_view text) {
    auto parsed = config::parse_toml(text, "test.toml");
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << error_text(parsed));
    return std::move(parsed).value();
}

/// The error parsing `text` as test.toml, or "<parsed>".
inline std::string toml_error(std::string_view text) {
    auto parsed = config::parse_toml(text, "test.toml");
    return parsed ? "<parsed>" : parsed.error().message;
}

/// The error applying `vars` to the defaults, or "<applied>".
inline std::string env_error(std::map<std::string, std::string> vars) {
    auto applied = config::apply_env(Config{}, env(std::move(vars)));
    return applied ? "<applied>" : applied.error().message;
}

/// The defaults plus one key, which is all validate() needs.
inline Config with_key() {
    Config c;
    c.signing_keys = {{"k", "sha256:8254c329", std::nullopt}};
    return c;
}

/// validate()'s message, or "<valid>".
inline std::string validate_text(const Config& c) {
    auto error = config::validate(c);
    return error ? error->message : "<valid>";
}

inline Strings secrets(const std::vector<mailgun::SigningKey>& keys) {
    Strings out;
    for (const auto& key : keys) {
        out.push_back(key.secret);
    }
    return out;
}

inline Strings labels(const std::vector<mailgun::SigningKey>& keys) {
    Strings out;
    for (const auto& key : keys) {
        out.push_back(key.label);
    }
    return out;
}

} // namespace leadhook::test::config_support
