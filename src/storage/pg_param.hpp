#pragma once
// A query parameter, without libpq: the pure parts of storage build them.
#include <optional>
#include <string>

namespace leadhook::storage {

/// A query parameter: PostgreSQL's text form of a value, or its binary
/// wire form (what the type's receive function reads, e.g. an array built
/// by PgColumns). No value is SQL NULL.
struct PgParam {
    PgParam() = default;
    PgParam(std::string text) : value(std::move(text)) {} // NOLINT(google-explicit-constructor)
    static PgParam binary_form(std::string bytes) {
        PgParam param(std::move(bytes));
        param.binary = true;
        return param;
    }

    std::optional<std::string> value;
    bool binary = false;
};

} // namespace leadhook::storage
