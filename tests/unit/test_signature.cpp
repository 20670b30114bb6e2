#include "mailgun/key_ring.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"
#include "util/hex.hpp"
#include "util/utf8.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_signature {

using namespace leadhook;
using mailgun::sign;
using mailgun::SignatureParams;

namespace {

using Keys = std::vector<mailgun::SigningKey>;

/// Keys without end dates, labelled as the config labels them.
Keys ring(const std::vector<std::string>& secrets) {
    Keys keys;
    for (const auto& secret : secrets) {
        keys.push_back({secret, mailgun::default_label(secret), std::nullopt});
    }
    return keys;
}

/// The verifying key's index ("1", or "1 parent" when only parent-signature
/// matched), "expired LABEL" or "none".
std::string verify(const SignatureParams& params, const Keys& keys) {
    const auto result = mailgun::verify(params, keys, 1700000000000000);
    if (result) {
        return std::to_string(result->index) + (result->by_parent ? " parent" : "");
    }
    if (result.error().failure == mailgun::VerifyFailure::key_expired) {
        return "expired " + result.error().expired_label;
    }
    return "none";
}

std::string verify_one(const SignatureParams& params, const std::string& key) {
    return verify(params, ring({key}));
}

SignatureParams signed_params(const std::string& key, std::string timestamp, std::string token) {
    std::string signature = sign(key, timestamp, token);
    return SignatureParams{std::move(timestamp), std::move(token), std::move(signature), {}};
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

const std::string fffd = "\xEF\xBF\xBD";

/// `n` replacement characters.
std::string replacements(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) {
        out += fffd;
    }
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(signature)

BOOST_AUTO_TEST_CASE(every_known_answer_vector) {
    const auto vectors = nlohmann::json::parse(test::corpus("vectors.json"));
    BOOST_TEST_REQUIRE(vectors.is_array());
    BOOST_TEST_REQUIRE(vectors.size() >= 13u);
    std::size_t valid = 0;
    for (const auto& v : vectors) {
        const auto key = v.at("key").get<std::string>();
        const SignatureParams params{v.at("timestamp").get<std::string>(),
                                     v.at("token").get<std::string>(),
                                     v.at("signature").get<std::string>(),
                                     {}};
        BOOST_TEST_CONTEXT("vector " << v.at("id").get<std::string>()) {
            if (v.at("valid").get<bool>()) {
                ++valid;
                BOOST_TEST(sign(key, params.timestamp, params.token) == params.signature);
                BOOST_TEST(verify_one(params, key) == "0");
            } else {
                BOOST_TEST(sign(key, params.timestamp, params.token) != params.signature);
                BOOST_TEST(verify_one(params, key) == "none");
            }
        }
    }
    BOOST_TEST(valid >= 10u);
}

BOOST_AUTO_TEST_CASE(sign_is_64_lower_case_hex_digits) {
    const std::string mac = sign("k", "1", "t");
    BOOST_TEST(mac.size() == 64u);
    BOOST_TEST(std::all_of(mac.begin(), mac.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }));
    // The message is timestamp then token with no separator.
    BOOST_TEST(sign("k", "12", "3") == sign("k", "1", "23"));
    BOOST_TEST(sign("k", "1", "t") != sign("K", "1", "t"));
    BOOST_TEST(sign("k", "01", "t") != sign("k", "1", "t"));
}

BOOST_AUTO_TEST_CASE(upper_and_mixed_case_hex_are_accepted) {
    SignatureParams params = signed_params(test::anymail_key, "1534108637", "tok");
    params.signature = upper(params.signature);
    BOOST_TEST(verify_one(params, test::anymail_key) == "0");
    for (std::size_t i = 0; i < params.signature.size(); i += 2) {
        params.signature[i] = static_cast<char>(std::tolower(params.signature[i]));
    }
    BOOST_TEST(verify_one(params, test::anymail_key) == "0");
}

BOOST_AUTO_TEST_CASE(wrong_length_and_non_hex_are_rejected) {
    const SignatureParams good = signed_params(test::anymail_key, "1534108637", "tok");
    const std::vector<std::pair<std::string, std::string>> cases{
        {"empty", ""},
        {"truncated by one byte", good.signature.substr(0, 62)},
        {"odd length", good.signature.substr(0, 63)},
        {"one byte too many", good.signature + "00"},
        {"doubled", good.signature + good.signature},
        {"non-hex digit", "g" + good.signature.substr(1)},
        {"space inside", good.signature.substr(0, 31) + " " + good.signature.substr(32)},
        {"0x prefix", "0x" + good.signature.substr(2)},
        {"one bit off", good.signature.substr(0, 63) + (good.signature[63] == '0' ? "1" : "0")},
    };
    for (const auto& [what, signature] : cases) {
        BOOST_TEST_CONTEXT(what) {
            SignatureParams params = good;
            params.signature = signature;
            BOOST_TEST(verify_one(params, test::anymail_key) == "none");
        }
    }
    BOOST_TEST(verify_one(good, test::anymail_key) == "0");
}

BOOST_AUTO_TEST_CASE(the_index_of_the_verifying_key_is_returned) {
    const Keys keys = ring({"first", test::symfony_key, test::anymail_key, test::anymail_key});
    BOOST_TEST(verify(signed_params("first", "1", "a"), keys) == "0");
    BOOST_TEST(verify(signed_params(test::symfony_key, "1", "a"), keys) == "1");
    // The first match wins when a key is listed twice.
    BOOST_TEST(verify(signed_params(test::anymail_key, "1", "a"), keys) == "2");
    BOOST_TEST(verify(signed_params("unknown", "1", "a"), keys) == "none");
    BOOST_TEST(verify(signed_params("first", "1", "a"), Keys{}) == "none");
}

BOOST_AUTO_TEST_CASE(parent_signature_verifies_with_the_parent_key) {
    const std::string parent_key = "parent-account-key";
    const Keys keys = ring({"some-other-key", parent_key});
    SignatureParams params{"1700000000", "subaccount-token", std::string(64, '0'),
                           sign(parent_key, "1700000000", "subaccount-token")};
    BOOST_TEST(verify(params, keys) == "1 parent");
    // The subaccount's own signature still counts when it verifies.
    params.signature = sign("some-other-key", "1700000000", "subaccount-token");
    params.parent_signature = "not hex at all";
    BOOST_TEST(verify(params, keys) == "0");
    // Neither verifies.
    params.signature = std::string(64, 'a');
    params.parent_signature = sign("a-third-key", "1700000000", "subaccount-token");
    BOOST_TEST(verify(params, keys) == "none");
    // The parent signature covers the same timestamp and token.
    params.parent_signature = sign(parent_key, "1700000001", "subaccount-token");
    BOOST_TEST(verify(params, keys) == "none");
}

BOOST_AUTO_TEST_CASE(every_signed_corpus_sample_verifies_with_its_stated_key) {
    const Keys keys = ring({test::anymail_key, test::anymail_api_key, test::symfony_key});
    std::size_t checked = 0;
    for (const auto& name : test::corpus_samples()) {
        if (name.starts_with("docs-event-data/")) {
            continue; // bare event-data: no signature envelope
        }
        BOOST_TEST_CONTEXT(name) {
            const auto params = mailgun::find_signature(test::corpus_payload(name));
            if (name == "anymail__NEG-missing-signature.json") {
                BOOST_TEST(!params.has_value());
                continue;
            }
            BOOST_TEST_REQUIRE(params.has_value());
            std::string expected = "0";
            if (name == "anymail__delivered-signed-with-api-key.json") {
                expected = "1";
            } else if (name.starts_with("symfony__")) {
                expected = "2";
            } else if (name == "anymail__NEG-bad-signature.json") {
                expected = "none";
            }
            BOOST_TEST(verify(*params, keys) == expected);
            ++checked;
        }
    }
    BOOST_TEST(checked >= 30u);
}

BOOST_AUTO_TEST_CASE(hex_encodes_lower_case_and_decodes_either_case) {
    const std::vector<unsigned char> bytes{0x00, 0x0f, 0x10, 0xab, 0xff};
    BOOST_TEST(to_hex(bytes) == "000f10abff");
    BOOST_TEST(to_hex(std::vector<unsigned char>{}) == "");
    const auto decoded = from_hex("000F10aBfF");
    BOOST_TEST_REQUIRE(decoded.has_value());
    BOOST_TEST(*decoded == bytes, boost::test_tools::per_element());
    const auto empty = from_hex("");
    BOOST_TEST_REQUIRE(empty.has_value());
    BOOST_TEST(empty->empty());
}

BOOST_AUTO_TEST_CASE(hex_round_trips_every_byte) {
    std::vector<unsigned char> all(256);
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = static_cast<unsigned char>(i);
    }
    const std::string hex = to_hex(all);
    BOOST_TEST(hex.size() == 512u);
    BOOST_TEST(hex.substr(0, 6) == "000102");
    BOOST_TEST(hex.substr(506) == "fdfeff");
    const auto back = from_hex(hex);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(*back == all, boost::test_tools::per_element());
    BOOST_TEST((from_hex(upper(hex)) == std::optional<std::vector<unsigned char>>(all)));
}

BOOST_AUTO_TEST_CASE(hex_rejects_odd_length_and_non_hex) {
    const std::vector<std::string> cases{"0",  "abc", "0g",       "g0",
                                         "0x", " 0",  "0 ",       "+1",
                                         "-1", "zz",  "\xff\xff", std::string("0\0", 2)};
    for (const std::string& bad : cases) {
        BOOST_TEST_CONTEXT("input '" << bad << "'") {
            BOOST_TEST(!from_hex(bad).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(storable_utf8_keeps_valid_text) {
    const std::vector<std::string> valid{
        "",
        "plain ascii, with punctuation!",
        "caf\xC3\xA9",                        // U+00E9, two bytes
        "\xE2\x82\xAC 10",                    // U+20AC, three bytes
        "\xF0\x9F\x98\x80",                   // U+1F600, four bytes
        "\xED\x9F\xBF",                       // U+D7FF, just below the surrogates
        "\xEE\x80\x80",                       // U+E000, just above them
        "\xF4\x8F\xBF\xBF",                   // U+10FFFF, the last code point
        "\xC2\x80\xDF\xBF\xE0\xA0\x80",       // boundaries of 2- and 3-byte forms
        "\xEF\xBF\xBD already a replacement", // U+FFFD itself
    };
    for (const auto& text : valid) {
        BOOST_TEST(to_storable_utf8(text) == text);
    }
}

BOOST_AUTO_TEST_CASE(storable_utf8_replaces_nul_and_invalid_bytes) {
    BOOST_TEST(to_storable_utf8(std::string("a\0b", 3)) == "a" + fffd + "b");
    BOOST_TEST(to_storable_utf8(std::string("\0", 1)) == fffd);
    BOOST_TEST(to_storable_utf8("a\xFF"
                                "b") == "a" + fffd + "b");
    BOOST_TEST(to_storable_utf8("\x80") == fffd);                         // lone continuation byte
    BOOST_TEST(to_storable_utf8("\xF5\x80\x80\x80") == replacements(4));  // no such lead
    BOOST_TEST(to_storable_utf8("ok\xE2\x82") == "ok" + replacements(2)); // truncated at the end
    BOOST_TEST(to_storable_utf8("\xC3"
                                "A") == fffd + "A"); // continuation missing
}

BOOST_AUTO_TEST_CASE(storable_utf8_replaces_overlongs_surrogates_and_beyond_unicode) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"overlong '/' in two bytes", "\xC0\xAF"},
        {"overlong NUL in two bytes", "\xC0\x80"},
        {"overlong '/' in three bytes", "\xE0\x80\xAF"},
        {"overlong U+07FF in three bytes", "\xE0\x9F\xBF"},
        {"overlong in four bytes", "\xF0\x8F\xBF\xBF"},
        {"high surrogate U+D800", "\xED\xA0\x80"},
        {"low surrogate U+DFFF", "\xED\xBF\xBF"},
        {"past U+10FFFF", "\xF4\x90\x80\x80"},
    };
    for (const auto& [what, bytes] : cases) {
        BOOST_TEST_CONTEXT(what) {
            const std::string out = to_storable_utf8("<" + bytes + ">");
            // Every byte of the bad sequence is gone and only U+FFFD stands in for it.
            BOOST_TEST(out.front() == '<');
            BOOST_TEST(out.back() == '>');
            const std::string middle = out.substr(1, out.size() - 2);
            BOOST_TEST(!middle.empty());
            BOOST_TEST(middle.size() % fffd.size() == 0u);
            BOOST_TEST(middle == replacements(middle.size() / fffd.size()));
            // The result is stable: cleaning it again changes nothing.
            BOOST_TEST(to_storable_utf8(out) == out);
        }
    }
}

BOOST_AUTO_TEST_CASE(storable_utf8_resynchronises_after_a_bad_byte) {
    // The valid character after an invalid lead survives intact.
    BOOST_TEST(to_storable_utf8("\xE2\xC3\xA9") == fffd + "\xC3\xA9");
    BOOST_TEST(to_storable_utf8("\xF0\x9F\xF0\x9F\x98\x80") ==
               replacements(2) + "\xF0\x9F\x98\x80");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_signature
