#pragma once
// A webhook body decoded by its Content-Type (never guessed from the bytes),
// and the signature triple found in it.
#include "body/fields.hpp"
#include "mailgun/event.hpp"
#include "util/expected.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace leadhook::mailgun {

struct Payload {
    BodyFormat format = BodyFormat::json;
    nlohmann::json json; ///< the whole body, for BodyFormat::json
    body::Fields fields; ///< for form and multipart
};

/// Why a body can never be processed; answered with 406 and this message.
struct Unprocessable {
    std::string message;
};

/// A body's format by its Content-Type, and the multipart boundary.
struct BodyKind {
    BodyFormat format = BodyFormat::json;
    std::string boundary;
};

/// The format of a body of this Content-Type; Unprocessable for a missing,
/// malformed or unsupported type, an empty body, or multipart without a
/// boundary.
Expected<BodyKind, Unprocessable> kind_of(std::string_view content_type, std::string_view body);

/// The fields of a form or multipart body of that kind; with `keep`, only
/// those names' values are decoded (body::ValueFilter).
Expected<body::Fields, body::ParseError> parse_fields(const BodyKind& kind, std::string_view body,
                                                      const body::Limits& limits,
                                                      body::ValueFilter keep = {});

/// Decodes `body` as its Content-Type says, within `limits` (fields, parts,
/// name length, JSON depth); every failure, limits included, is Unprocessable.
Expected<Payload, Unprocessable> parse_payload(std::string_view content_type, std::string_view body,
                                               const body::Limits& limits = {});

struct SignatureParams {
    std::string timestamp; ///< exactly as sent: it is signed as text
    std::string token;
    std::string signature;
    std::string parent_signature; ///< subaccount events only
};

/// The triple, or nullopt if any part is missing. Legacy forms take the last
/// occurrence: Mailgun appends its own after user variables of the same name.
std::optional<SignatureParams> find_signature(const Payload& payload);

/// The same triple, read before anything else of an unverified body is
/// kept: JSON without building a tree and only up to the end of its
/// `signature` object, forms without copying the other values. Refuses what
/// parse_payload refuses about the Content-Type and the limits, and about
/// the syntax of what it reads (a JSON body's rest, and a key repeated in
/// it, are left to the full parse of a verified body).
Expected<std::optional<SignatureParams>, Unprocessable>
read_signature(std::string_view content_type, std::string_view body,
               const body::Limits& limits = {});

} // namespace leadhook::mailgun
