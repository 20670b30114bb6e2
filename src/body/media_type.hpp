#pragma once
// Header values of the shape `head; name=value; name="quoted value"`, as used by
// Content-Type (RFC 9110 section 8.3) and Content-Disposition (RFC 6266 / 7578).
// One parameter grammar serves both, so the two headers cannot disagree on quoting.
#include "body/fields.hpp"
#include "util/expected.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace leadhook::body {

/// Real headers carry two or three parameters; the cap keeps the duplicate check
/// cheap when a hostile multipart part header lists thousands.
constexpr std::size_t max_header_parameters = 32;

/// Parameters in arrival order; names lower-cased, values unquoted with case kept.
using Parameters = std::vector<std::pair<std::string, std::string>>;

struct MediaType {
    std::string essence; ///< "type/subtype", lower-cased, e.g. "multipart/form-data"
    Parameters params;
    /// Case-insensitive lookup; nullptr if absent.
    const std::string* param(std::string_view name) const;
};

Expected<MediaType, ParseError> parse_media_type(std::string_view header_value);

/// A header value split into its leading token(s) and its parameters.
struct ParameterizedValue {
    std::string head; ///< text before the first ';', surrounding whitespace trimmed, case kept
    Parameters params;
};

/// Parses `head *( OWS ";" OWS [ name OWS "=" OWS ( token / quoted-string ) ] )`.
/// Empty parameters (";;", a trailing ";") are skipped; a repeated name is an
/// error, because two recipients could otherwise pick different values.
Expected<ParameterizedValue, ParseError> parse_parameterized(std::string_view header_value);

/// Case-insensitive lookup in `params`; nullptr if absent.
const std::string* find_parameter(const Parameters& params, std::string_view name);

/// RFC 9110 token: one or more tchar.
bool is_token(std::string_view text);

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b);

} // namespace leadhook::body
