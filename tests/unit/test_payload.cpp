#include "mailgun/payload.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_payload {

using namespace leadhook;
using mailgun::BodyFormat;
using mailgun::find_signature;
using mailgun::parse_payload;
using mailgun::Payload;

namespace {

Payload parse_ok(std::string_view content_type, std::string_view body) {
    auto parsed = parse_payload(content_type, body);
    BOOST_TEST_REQUIRE(parsed.has_value(), "failed: " << test::error_text(parsed));
    return std::move(parsed).value();
}

std::string error_of(std::string_view content_type, std::string_view body) {
    auto parsed = parse_payload(content_type, body);
    return parsed ? "<parsed>" : parsed.error().message;
}

std::string field(const Payload& payload, std::string_view name) {
    const std::string* value = body::first(payload.fields, name);
    return value ? *value : "<absent>";
}

std::optional<mailgun::SignatureParams> json_signature(std::string_view text) {
    return find_signature(parse_ok("application/json", text));
}

} // namespace

BOOST_AUTO_TEST_SUITE(payload)

BOOST_AUTO_TEST_CASE(json_content_types_give_a_json_payload) {
    const std::string body = test::corpus("anymail__delivered.json");
    for (std::string_view type :
         {"application/json", "application/json; charset=utf-8", "Application/JSON",
          "APPLICATION/JSON;CHARSET=UTF-8", "application/json ; charset=\"utf-8\""}) {
        BOOST_TEST_CONTEXT(type) {
            const Payload p = parse_ok(type, body);
            BOOST_TEST((p.format == BodyFormat::json));
            BOOST_TEST(p.json.at("event-data").at("event").get<std::string>() == "delivered");
            BOOST_TEST(p.fields.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(urlencoded_content_types_give_form_fields) {
    const std::string body = test::corpus("anymail-legacy__delivered.form");
    for (std::string_view type :
         {"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=UTF-8",
          "Application/X-WWW-Form-URLEncoded"}) {
        BOOST_TEST_CONTEXT(type) {
            const Payload p = parse_ok(type, body);
            BOOST_TEST((p.format == BodyFormat::form));
            BOOST_TEST(field(p, "event") == "delivered");
            BOOST_TEST(field(p, "recipient") == "recipient@example.com");
            BOOST_TEST(p.fields.size() == 9u);
            BOOST_TEST(p.json.is_null());
        }
    }
}

BOOST_AUTO_TEST_CASE(multipart_with_boundary_gives_form_fields) {
    const std::string body = test::corpus("anymail-legacy__dropped-605-hardfail.multipart");
    for (std::string_view type : {"multipart/form-data; boundary=BoUnDaRyStRiNg",
                                  "multipart/form-data; boundary=\"BoUnDaRyStRiNg\"",
                                  "Multipart/Form-Data; charset=utf-8; BOUNDARY=BoUnDaRyStRiNg"}) {
        BOOST_TEST_CONTEXT(type) {
            const Payload p = parse_ok(type, body);
            BOOST_TEST((p.format == BodyFormat::multipart));
            BOOST_TEST(field(p, "event") == "dropped");
            BOOST_TEST(field(p, "code") == "605");
            BOOST_TEST(field(p, "reason") == "hardfail");
        }
    }
}

BOOST_AUTO_TEST_CASE(the_boundary_value_is_case_sensitive) {
    const std::string body = test::corpus("anymail-legacy__bounced-550.multipart");
    BOOST_TEST(error_of("multipart/form-data; boundary=boundarystring", body) != "<parsed>");
}

BOOST_AUTO_TEST_CASE(the_type_decides_not_the_body) {
    // A JSON body labelled as a form is decoded as a form, never sniffed.
    const Payload p = parse_ok("application/x-www-form-urlencoded", R"({"event-data":{}})");
    BOOST_TEST((p.format == BodyFormat::form));
    BOOST_TEST(p.json.is_null());
    // And a form body labelled JSON is a JSON error.
    BOOST_TEST(error_of("application/json", test::corpus("anymail-legacy__delivered.form")) ==
               "body is not valid JSON");
}

BOOST_AUTO_TEST_CASE(missing_content_type_is_unprocessable) {
    BOOST_TEST(error_of("", test::corpus("anymail__delivered.json")) == "missing Content-Type");
}

BOOST_AUTO_TEST_CASE(unsupported_content_type_names_the_type) {
    for (std::string_view type : {"text/plain", "application/xml", "text/json",
                                  "multipart/mixed; boundary=x", "application/jsonx"}) {
        BOOST_TEST_CONTEXT(type) {
            const std::string error = error_of(type, "{}");
            BOOST_TEST(test::contains(error, "unsupported Content-Type"));
            BOOST_TEST(test::contains(error, type.substr(0, type.find(';'))));
        }
    }
}

BOOST_AUTO_TEST_CASE(malformed_content_type_is_unprocessable) {
    for (std::string_view type : {"json", "application/", "/json", "application/json; charset",
                                  "application/json; a=1; a=2"}) {
        BOOST_TEST_CONTEXT(type) {
            BOOST_TEST(test::contains(error_of(type, "{}"), "malformed Content-Type"));
        }
    }
}

BOOST_AUTO_TEST_CASE(multipart_without_boundary_is_unprocessable) {
    const std::string body = test::corpus("anymail-legacy__bounced-550.multipart");
    BOOST_TEST(error_of("multipart/form-data", body) == "multipart/form-data without a boundary");
    BOOST_TEST(error_of("multipart/form-data; boundary=\"\"", body) ==
               "multipart/form-data without a boundary");
}

BOOST_AUTO_TEST_CASE(an_empty_body_is_unprocessable_whatever_the_type) {
    for (std::string_view type : {"application/json", "application/x-www-form-urlencoded",
                                  "multipart/form-data; boundary=x", "multipart/form-data"}) {
        BOOST_TEST_CONTEXT(type) {
            BOOST_TEST(error_of(type, "") == "request body is empty");
        }
    }
    // A missing or wrong type is still named first.
    BOOST_TEST(error_of("", "") == "missing Content-Type");
    BOOST_TEST(test::contains(error_of("text/plain", ""), "unsupported Content-Type"));
}

BOOST_AUTO_TEST_CASE(non_object_json_is_unprocessable) {
    for (std::string_view text : {"[]", R"(["event-data"])", R"("text")", "42", "null", "true"}) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(error_of("application/json", text) == "JSON body is not an object");
        }
    }
}

BOOST_AUTO_TEST_CASE(body_errors_carry_the_parser_message) {
    BOOST_TEST(error_of("application/json", "{") == "body is not valid JSON");
    BOOST_TEST(error_of("application/json", std::string(100, '[')) ==
               "JSON nested deeper than 64 levels");
    BOOST_TEST(
        test::contains(error_of("application/x-www-form-urlencoded", "a=%zz"), "percent-escape"));
    BOOST_TEST(test::contains(error_of(test::multipart_type, "no delimiter here"), "multipart"));
}

BOOST_AUTO_TEST_CASE(json_signature_with_string_timestamp) {
    const auto sig = find_signature(test::corpus_payload("anymail__delivered.json"));
    BOOST_TEST_REQUIRE(sig.has_value());
    BOOST_TEST(sig->timestamp == "1534108637");
    BOOST_TEST(sig->token == "651869375b9df3c98fc15c4889b102119add1235c38fc92824");
    BOOST_TEST(sig->signature ==
               "2a75affe24846ead9e37e614a5e7643a04abf4d5b49b34d224ede9af23a00ccc");
    BOOST_TEST(sig->parent_signature == "");
}

BOOST_AUTO_TEST_CASE(json_signature_with_integer_timestamp) {
    const auto sig = json_signature(
        R"({"signature":{"timestamp":1534108637,"token":"tok","signature":"abc"},"event-data":{}})");
    BOOST_TEST_REQUIRE(sig.has_value());
    BOOST_TEST(sig->timestamp == "1534108637");
    BOOST_TEST(sig->token == "tok");
    BOOST_TEST(sig->signature == "abc");
}

BOOST_AUTO_TEST_CASE(json_signature_keeps_the_parent_signature) {
    const auto sig = json_signature(
        R"({"signature":{"timestamp":"1","token":"t","signature":"s","parent-signature":"p"}})");
    BOOST_TEST_REQUIRE(sig.has_value());
    BOOST_TEST(sig->parent_signature == "p");
}

BOOST_AUTO_TEST_CASE(json_signature_with_a_missing_part_is_nullopt) {
    const std::vector<std::string> cases{
        R"({"event-data":{}})",
        R"({"signature":"1:t:s"})",
        R"({"signature":null})",
        R"({"signature":{}})",
        R"({"signature":{"token":"t","signature":"s"}})",
        R"({"signature":{"timestamp":"1","signature":"s"}})",
        R"({"signature":{"timestamp":"1","token":"t"}})",
        R"({"signature":{"timestamp":"","token":"t","signature":"s"}})",
        R"({"signature":{"timestamp":"1","token":"","signature":"s"}})",
        R"({"signature":{"timestamp":"1","token":"t","signature":""}})",
        R"({"signature":{"timestamp":null,"token":"t","signature":"s"}})",
        R"({"signature":{"timestamp":"1","token":["t"],"signature":"s"}})",
        // A fractional timestamp has no exact text to verify against.
        R"({"signature":{"timestamp":1.5,"token":"t","signature":"s"}})",
        R"({"event-data":{},"timestamp":"1","token":"t","signature":"s"})",
    };
    for (const auto& text : cases) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(!json_signature(text).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(form_signature_takes_the_last_occurrence) {
    // User variables named token/timestamp/signature come first; Mailgun's own last.
    const Payload p = test::corpus_payload("anymail-legacy__clicked-user-var-name-collisions.form");
    BOOST_TEST(field(p, "token") == "metadata-token");
    const auto sig = find_signature(p);
    BOOST_TEST_REQUIRE(sig.has_value());
    BOOST_TEST(sig->timestamp == "1461261330");
    BOOST_TEST(sig->token == "actual-event-token");
    BOOST_TEST(sig->signature ==
               "85eb32bd2abe0c0c60635e8718d6722a918c02be9f3dde0574db44d304ffea7c");
    BOOST_TEST(sig->parent_signature == "");
}

BOOST_AUTO_TEST_CASE(multipart_signature_is_found) {
    const auto sig =
        find_signature(test::corpus_payload("anymail-legacy__dropped-605-hardfail.multipart"));
    BOOST_TEST_REQUIRE(sig.has_value());
    BOOST_TEST(sig->timestamp == "1461261330");
    BOOST_TEST(sig->token == "a3fe1fa1640349ac552b84ddde373014b4c41645830c8dd3fc");
    BOOST_TEST(sig->signature ==
               "9b8d1f06bc36fd9af30dfe2bd86866479c103b291a9604450eeba1033fdffb27");
}

BOOST_AUTO_TEST_CASE(form_signature_with_a_missing_part_is_nullopt) {
    const std::vector<std::string> cases{
        "event=delivered",
        "timestamp=1&token=t",
        "timestamp=1&signature=s",
        "token=t&signature=s",
        "timestamp=1&token=t&signature=",
        "timestamp=1&token=&signature=s",
        // The last occurrence counts, even when it is empty.
        "timestamp=1&token=t&signature=s&signature=",
    };
    for (const auto& text : cases) {
        BOOST_TEST_CONTEXT(text) {
            BOOST_TEST(!find_signature(parse_ok(test::form_type, text)).has_value());
        }
    }
}

// read_signature reads a JSON body only up to the end of its signature
// object: an unverified body costs the text before it, and what follows is
// the full parse's to refuse, once the signature verifies.
BOOST_AUTO_TEST_CASE(the_early_read_stops_after_the_signature_object) {
    const std::string signature =
        R"("signature":{"timestamp":"1700000000","token":"tok","signature":"abc"})";
    const auto read = [](std::string_view text) {
        return mailgun::read_signature("application/json", text);
    };
    const auto garbage_after = read("{" + signature + R"(,"event-data":{nonsense)");
    BOOST_TEST_REQUIRE(garbage_after.has_value());
    BOOST_TEST_REQUIRE(garbage_after->has_value());
    BOOST_TEST((*garbage_after)->token == "tok");
    BOOST_TEST(error_of("application/json", "{" + signature + R"(,"event-data":{nonsense)") ==
               "body is not valid JSON");
    // A second signature object is the full parse's to refuse.
    const std::string repeated =
        "{" + signature + R"(,"signature":{"timestamp":"1","token":"t2","signature":"x"}})";
    BOOST_TEST_REQUIRE(read(repeated).has_value());
    BOOST_TEST((**read(repeated)).token == "tok");
    BOOST_TEST(error_of("application/json", repeated) ==
               "JSON object repeats the key \"signature\"");
    // After other members it is found all the same; before it, bad syntax
    // is refused, and without it the whole body is read.
    const auto later = read(R"({"event-data":{"event":"opened"},)" + signature + "}");
    BOOST_TEST_REQUIRE(later.has_value());
    BOOST_TEST((*later)->signature == "abc");
    BOOST_TEST(!read(R"({"event-data":{nonsense},)" + signature + "}").has_value());
    BOOST_TEST(!read(R"({"event-data":{"event":"opened"},"x":tru})").has_value());
    const auto absent = read(R"({"event-data":{"event":"opened"}})");
    BOOST_TEST_REQUIRE(absent.has_value());
    BOOST_TEST(!absent->has_value());
    // Depth is judged over the whole text, first.
    BOOST_TEST(!read("{" + signature + R"(,"deep":)" + std::string(200, '[') + "}").has_value());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_payload
