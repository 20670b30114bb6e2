#include "mailgun/payload.hpp"

#include "body/form.hpp"
#include "body/json.hpp"
#include "body/media_type.hpp"
#include "body/multipart.hpp"

#include <array>

namespace leadhook::mailgun {
namespace {

Expected<Payload, Unprocessable> from_fields(Expected<body::Fields, body::ParseError> parsed,
                                             BodyFormat format) {
    if (!parsed) {
        return unexpected(Unprocessable{parsed.error().message});
    }
    Payload payload;
    payload.format = format;
    payload.fields = std::move(parsed).value();
    return payload;
}

Expected<Payload, Unprocessable> from_json(std::string_view text, std::size_t max_depth) {
    auto doc = body::parse_json(text, max_depth);
    if (!doc) {
        return unexpected(Unprocessable{doc.error().message});
    }
    if (!doc->is_object()) {
        return unexpected(Unprocessable{"JSON body is not an object"});
    }
    Payload payload;
    payload.json = std::move(doc).value();
    return payload;
}

/// Signature values are strings, but a timestamp may come as a JSON number.
std::string json_text(const nlohmann::json& obj, const char* key) {
    auto it = obj.find(key);
    if (it == obj.end()) {
        return {};
    }
    if (it->is_string()) {
        return it->get<std::string>();
    }
    if (it->is_number_integer()) {
        return it->dump();
    }
    return {};
}

std::optional<SignatureParams> json_signature(const nlohmann::json& body) {
    auto sig = body.find("signature");
    if (sig == body.end() || !sig->is_object()) {
        return std::nullopt;
    }
    SignatureParams params{json_text(*sig, "timestamp"), json_text(*sig, "token"),
                           json_text(*sig, "signature"), json_text(*sig, "parent-signature")};
    if (params.timestamp.empty() || params.token.empty() || params.signature.empty()) {
        return std::nullopt;
    }
    return params;
}

std::optional<SignatureParams> form_signature(const body::Fields& fields) {
    const auto* timestamp = body::last(fields, "timestamp");
    const auto* token = body::last(fields, "token");
    const auto* signature = body::last(fields, "signature");
    if (!timestamp || !token || !signature || timestamp->empty() || token->empty() ||
        signature->empty()) {
        return std::nullopt;
    }
    return SignatureParams{*timestamp, *token, *signature, {}};
}

constexpr std::array<std::string_view, 4> signature_names{"timestamp", "token", "signature",
                                                          "parent-signature"};

} // namespace

Expected<BodyKind, Unprocessable> kind_of(std::string_view content_type, std::string_view body) {
    if (content_type.empty()) {
        return unexpected(Unprocessable{"missing Content-Type"});
    }
    auto media = body::parse_media_type(content_type);
    if (!media) {
        return unexpected(Unprocessable{"malformed Content-Type: " + media.error().message});
    }
    const bool supported = media->essence == "application/json" ||
                           media->essence == "application/x-www-form-urlencoded" ||
                           media->essence == "multipart/form-data";
    if (!supported) {
        return unexpected(
            Unprocessable{"unsupported Content-Type " + media->essence +
                          " (expected application/json, application/x-www-form-urlencoded or "
                          "multipart/form-data)"});
    }
    if (body.empty()) {
        // Said plainly for every type, not as a missing signature (an empty
        // form parses to no fields) or a JSON syntax error.
        return unexpected(Unprocessable{"request body is empty"});
    }
    if (media->essence == "application/json") {
        return BodyKind{};
    }
    if (media->essence == "application/x-www-form-urlencoded") {
        return BodyKind{BodyFormat::form, {}};
    }
    const std::string* boundary = media->param("boundary");
    if (!boundary || boundary->empty()) {
        return unexpected(Unprocessable{"multipart/form-data without a boundary"});
    }
    return BodyKind{BodyFormat::multipart, *boundary};
}

Expected<body::Fields, body::ParseError> parse_fields(const BodyKind& kind, std::string_view body,
                                                      const body::Limits& limits,
                                                      body::ValueFilter keep) {
    return kind.format == BodyFormat::form
               ? body::parse_urlencoded(body, limits, keep)
               : body::parse_multipart(body, kind.boundary, limits, keep);
}

Expected<Payload, Unprocessable> parse_payload(std::string_view content_type, std::string_view body,
                                               const body::Limits& limits) {
    auto kind = kind_of(content_type, body);
    if (!kind) {
        return unexpected(std::move(kind).error());
    }
    if (kind->format == BodyFormat::json) {
        return from_json(body, limits.max_json_depth);
    }
    return from_fields(parse_fields(*kind, body, limits), kind->format);
}

Expected<std::optional<SignatureParams>, Unprocessable>
read_signature(std::string_view content_type, std::string_view body, const body::Limits& limits) {
    auto kind = kind_of(content_type, body);
    if (!kind) {
        return unexpected(std::move(kind).error());
    }
    if (kind->format != BodyFormat::json) {
        auto fields = parse_fields(*kind, body, limits, signature_names);
        if (!fields) {
            return unexpected(Unprocessable{fields.error().message});
        }
        return form_signature(*fields);
    }
    auto members =
        body::scan_json_object(body, "signature", signature_names, limits.max_json_depth);
    if (!members) {
        return unexpected(Unprocessable{members.error().message});
    }
    if (!*members) {
        return std::optional<SignatureParams>{};
    }
    SignatureParams params;
    for (auto& [name, value] : **members) {
        std::string& slot = name == "timestamp"   ? params.timestamp
                            : name == "token"     ? params.token
                            : name == "signature" ? params.signature
                                                  : params.parent_signature;
        slot = std::move(value);
    }
    if (params.timestamp.empty() || params.token.empty() || params.signature.empty()) {
        return std::optional<SignatureParams>{};
    }
    return std::optional<SignatureParams>{std::move(params)};
}

std::optional<SignatureParams> find_signature(const Payload& payload) {
    return payload.format == BodyFormat::json ? json_signature(payload.json)
                                              : form_signature(payload.fields);
}

} // namespace leadhook::mailgun
