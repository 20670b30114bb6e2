// Re-signing a captured body for another key (devtools/resign.hpp), reading
// capture files back (capture/capture_read.hpp) and the JSON member spans
// both rely on (body/json_spans.hpp). The checks go through leadhook's own
// reading: a re-signed corpus sample must verify with the new key and decode
// to the same event.
#include "body/json.hpp"
#include "body/json_spans.hpp"
#include "capture/capture_format.hpp"
#include "capture/capture_read.hpp"
#include "devtools/resign.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"
#include "util/rfc3339.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_resign {

using namespace leadhook;
using namespace leadhook::test;

namespace {

const std::string key = "key-replay-test";
const std::optional<std::string> fixed_timestamp = std::string("1700000000");

devtools::Resigned resigned(std::string_view type, std::string_view body,
                            const std::optional<std::string>& timestamp = fixed_timestamp) {
    auto result = devtools::resign(type, body, key, timestamp, 1800000000);
    BOOST_REQUIRE_MESSAGE(result, (result ? "" : result.error()));
    return std::move(result).value();
}

/// The payload with its signature fields taken out: what must not change.
nlohmann::json without_signature(std::string_view type, std::string_view body) {
    auto payload = mailgun::parse_payload(type, body);
    BOOST_REQUIRE(payload);
    if (payload->format == mailgun::BodyFormat::json) {
        payload->json.erase("signature");
        return payload->json;
    }
    nlohmann::json fields = nlohmann::json::array();
    for (const auto& field : payload->fields) {
        if (field.name != "timestamp" && field.name != "token" && field.name != "signature") {
            fields.push_back({field.name, field.value, field.size});
        }
    }
    return fields;
}

} // namespace

BOOST_AUTO_TEST_SUITE(resign)

BOOST_AUTO_TEST_CASE(every_corpus_sample_verifies_with_the_new_key_and_is_otherwise_the_same) {
    std::vector<std::filesystem::path> webhooks;
    for (const char* extension : {".json", ".form", ".multipart"}) {
        const auto files = corpus_files(extension);
        webhooks.insert(webhooks.end(), files.begin(), files.end());
    }
    BOOST_REQUIRE(webhooks.size() >= 30u);
    for (const auto& path : webhooks) {
        const std::string name = path.filename().string();
        if (name == "vectors.json") {
            continue;
        }
        BOOST_TEST_CONTEXT(name) {
            const std::string type = content_type_for(name);
            const std::string body = corpus(name);
            const auto out = resigned(type, body);
            auto params = mailgun::read_signature(type, out.body);
            BOOST_REQUIRE(params && *params);
            BOOST_TEST((*params)->timestamp == "1700000000");
            BOOST_TEST((*params)->token == out.fields.token);
            BOOST_TEST(mailgun::check_key(**params, key).signature);
            BOOST_TEST(without_signature(type, out.body) == without_signature(type, body));
        }
    }
}

BOOST_AUTO_TEST_CASE(only_the_signature_values_change_byte_for_byte) {
    const std::string body = corpus("anymail__delivered.json");
    const auto out = resigned(std::string(json_type), body);
    const auto read = mailgun::read_signature(json_type, body);
    BOOST_REQUIRE(read && *read);
    const auto& old = **read;
    std::string expected = body;
    for (const auto& [from, to] :
         {std::pair{old.token, out.fields.token}, std::pair{old.signature, out.fields.signature},
          std::pair{old.timestamp, out.fields.timestamp}}) {
        const auto at = expected.find(from);
        BOOST_REQUIRE(at != std::string::npos);
        expected.replace(at, from.size(), to);
    }
    BOOST_TEST(out.body == expected);
}

BOOST_AUTO_TEST_CASE(the_token_is_derived_so_the_same_inputs_give_the_same_bytes) {
    const std::string body = corpus("anymail-legacy__delivered.form");
    const auto first = resigned(form_type, body);
    BOOST_TEST(resigned(form_type, body).body == first.body);
    BOOST_TEST(first.fields.token.size() == 50u);
    const auto old = mailgun::read_signature(form_type, body);
    BOOST_REQUIRE(old && *old);
    BOOST_TEST(first.fields.token == devtools::replay_token(key, (*old)->token, "1700000000"));
    BOOST_TEST(resigned(form_type, body, std::string("1700000001")).fields.token !=
               first.fields.token);
}

BOOST_AUTO_TEST_CASE(the_captured_timestamp_is_kept_unless_one_is_given) {
    const std::string body = corpus("symfony__opened.json");
    const auto kept = resigned(json_type, body, std::nullopt);
    const auto old = mailgun::read_signature(json_type, body);
    BOOST_REQUIRE(old && *old);
    BOOST_TEST(kept.fields.timestamp == (*old)->timestamp);
}

BOOST_AUTO_TEST_CASE(missing_fields_are_added_where_leadhook_reads_them) {
    struct Case {
        std::string type, body;
    };
    for (const Case& c : {Case{"application/json", "{}"},
                          Case{"application/json", R"({"event-data": {"event": "opened"}})"},
                          Case{"application/json", R"({"signature": "x", "b": [1, {"c": "}"}]})"},
                          Case{"application/json", R"({"signature": {"token": "abc"}})"},
                          Case{"application/json", R"({"signature": {"timestamp": 17, "token":
                               "t", "signature": "s"}})"},
                          Case{std::string(form_type), "a=1&"},
                          Case{std::string(form_type), "a=1&timestamp&token=x"},
                          Case{std::string(form_type), "a=1&timestamp&token="},
                          Case{"multipart/form-data; boundary=BB", "--BB--\r\n"},
                          Case{"multipart/form-data; boundary=BB", "--BB--\r\nafter\n--BB--\r\n"},
                          Case{"multipart/form-data; boundary=BB",
                               "--BB\r\nContent-Disposition: form-data; name=\"token\"\r\n"
                               "X-No-Empty-Line: x\r\n--BB--\r\n"},
                          Case{"multipart/form-data; boundary=BB",
                               "--BB\r\nContent-Disposition: form-data; name=\"token\"\r\n"
                               "X-Ends-With-A-Line-Break: x\r\n\r\n--BB--\r\n"},
                          Case{"multipart/form-data; boundary=BB",
                               "--BB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n"
                               "--BB--\r\n"}}) {
        BOOST_TEST_CONTEXT(c.body) {
            const auto out = resigned(c.type, c.body);
            auto params = mailgun::read_signature(c.type, out.body);
            BOOST_REQUIRE(params && *params);
            BOOST_TEST(mailgun::check_key(**params, key).signature);
            BOOST_TEST(mailgun::parse_payload(c.type, out.body).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(what_leadhook_would_refuse_is_refused_with_a_reason) {
    for (const auto& [type, body] :
         std::vector<std::pair<std::string, std::string>>{{"application/json", "{"},
                                                          {"application/json", "[1]"},
                                                          {"text/plain", "x"},
                                                          {"", "x"},
                                                          {std::string(form_type), ""},
                                                          {"multipart/form-data", "--BB--"},
                                                          {std::string(form_type), "%zz=1"}}) {
        BOOST_TEST_CONTEXT(type << " " << body) {
            auto out = devtools::resign(type, body, key, fixed_timestamp, 0);
            BOOST_REQUIRE(!out);
            BOOST_TEST(!out.error().empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(json_spans_find_each_member_value_as_written) {
    const std::string text = R"( { "a" : "x\"}" , "b\u0041":[1,{"c":"]"}], "d": -1.5e3 ,"e":{}} )";
    auto spans = body::object_spans(text, body::skip_json_space(text, 0));
    BOOST_REQUIRE(spans);
    BOOST_REQUIRE(spans->members.size() == 4u);
    const auto value = [&](std::size_t i) {
        const auto& m = spans->members[i];
        return text.substr(m.value_begin, m.value_end - m.value_begin);
    };
    BOOST_TEST(spans->members[1].key == "bA");
    BOOST_TEST(value(0) == R"("x\"}")");
    BOOST_TEST(value(1) == R"([1,{"c":"]"}])");
    BOOST_TEST(value(2) == "-1.5e3");
    BOOST_TEST(value(3) == "{}");
    BOOST_TEST(text[spans->close] == '}');
}

BOOST_AUTO_TEST_CASE(a_capture_reads_back_as_the_request_it_was_written_from) {
    const http::Request request{.method = "POST",
                                .path = "/api/v1/wh/mg/lead/email/bounced",
                                .content_type = std::string(multipart_type),
                                .body = corpus("anymail-legacy__bounced-550.multipart"),
                                .remote_addr = "203.0.113.5",
                                .request_id = "5f0c1e",
                                .received_at = *parse_rfc3339("2026-11-29T07:30:00Z"),
                                .headers = {{"User-Agent", "mailgun/treq-16.12.0"}}};
    auto read = capture::parse_capture(capture::format_capture(request) + "trailing bytes");
    BOOST_REQUIRE(read);
    BOOST_TEST(read->method == "POST");
    BOOST_TEST(read->target == request.path);
    BOOST_TEST(read->body == request.body);
    BOOST_TEST(*read->header("content-type") == request.content_type);
    BOOST_TEST(*read->header("User-Agent") == "mailgun/treq-16.12.0");
    BOOST_TEST(read->metadata.size() == 3u);
    BOOST_TEST(read->metadata.front().first == "x-leadhook-received-at");
}

BOOST_AUTO_TEST_CASE(a_broken_capture_says_what_is_wrong) {
    for (const auto& [file, reason] : std::vector<std::pair<std::string, std::string>>{
             {"POST /x HTTP/1.1\r\nA: b", "no empty line after the headers"},
             {"POST x HTTP/1.1\r\n\r\n", "not an HTTP request line"},
             {"GET / HTTP/1.1 extra\r\n\r\n", "not an HTTP request line"},
             {"POST / HTTP/1.1\r\nno colon\r\n\r\n", "malformed header line"},
             {"POST / HTTP/1.1\r\n Indented: x\r\n\r\n", "malformed header line"},
             {"POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nshort", "truncated"},
             {"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
             {"POST / HTTP/1.1\r\nContent-Length: 0\r\nX-Leadhook-Body-Omitted: larger\r\n\r\n",
              "the body was not captured"}}) {
        BOOST_TEST_CONTEXT(file) {
            auto read = capture::parse_capture(file);
            BOOST_REQUIRE(!read);
            BOOST_TEST(read.error().find(reason) != std::string::npos);
        }
    }
    auto lf = capture::parse_capture("POST / HTTP/1.1\nContent-Length: 2\n\nabc");
    BOOST_REQUIRE(lf);
    BOOST_TEST(lf->body == "ab");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_resign
