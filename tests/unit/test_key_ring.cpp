#include "mailgun/key_ring.hpp"
#include "mailgun/signature.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_key_ring {

using namespace leadhook;
using mailgun::SignatureParams;
using mailgun::SigningKey;

namespace {

constexpr EpochMicros end_of_q3 = 1790812800000000; // 2026-10-01T00:00:00Z
constexpr EpochMicros one_second = 1000000;

SignatureParams signed_by(const std::string& key, const std::string& parent_key = "") {
    const std::string timestamp = "1790000000", token = "a-token";
    return SignatureParams{timestamp, token, mailgun::sign(key, timestamp, token),
                           parent_key.empty() ? "" : mailgun::sign(parent_key, timestamp, token)};
}

/// "1", "1 parent", "expired LABEL" or "none".
std::string outcome(const SignatureParams& params, const std::vector<SigningKey>& keys,
                    EpochMicros now) {
    const auto result = mailgun::verify(params, keys, now);
    if (result) {
        return std::to_string(result->index) + (result->by_parent ? " parent" : "");
    }
    if (result.error().failure == mailgun::VerifyFailure::key_expired) {
        return "expired " + result.error().expired_label;
    }
    BOOST_TEST(result.error().expired_label.empty());
    return "none";
}

const std::vector<SigningKey> rotation{
    {"old-secret", "2026-q3", end_of_q3},
    {"new-secret", "2026-q4", std::nullopt},
};

} // namespace

BOOST_AUTO_TEST_SUITE(key_ring)

BOOST_AUTO_TEST_CASE(default_labels_name_a_key_without_revealing_it) {
    BOOST_TEST(mailgun::default_label(test::anymail_key) == "sha256:74b34d9d");
    BOOST_TEST(mailgun::default_label("k") == "sha256:8254c329");
    BOOST_TEST(mailgun::default_label("") == "sha256:e3b0c442");
    BOOST_TEST(mailgun::default_label("k") != mailgun::default_label("K"));
}

BOOST_AUTO_TEST_CASE(both_keys_verify_during_an_overlap) {
    const EpochMicros during = end_of_q3 - 3600 * one_second;
    BOOST_TEST(outcome(signed_by("old-secret"), rotation, during) == "0");
    BOOST_TEST(outcome(signed_by("new-secret"), rotation, during) == "1");
    BOOST_TEST(outcome(signed_by("other-secret"), rotation, during) == "none");
}

BOOST_AUTO_TEST_CASE(a_key_is_valid_until_exactly_not_after) {
    BOOST_TEST(outcome(signed_by("old-secret"), rotation, end_of_q3) == "0");
    BOOST_TEST(outcome(signed_by("old-secret"), rotation, end_of_q3 + 1) == "expired 2026-q3");
}

BOOST_AUTO_TEST_CASE(an_expired_key_is_refused_and_named) {
    const EpochMicros later = end_of_q3 + 86400 * one_second;
    BOOST_TEST(outcome(signed_by("old-secret"), rotation, later) == "expired 2026-q3");
    BOOST_TEST(outcome(signed_by("new-secret"), rotation, later) == "1");
    // Only a key that verifies is reported as expired.
    BOOST_TEST(outcome(signed_by("other-secret"), rotation, later) == "none");
    // Of several expired keys that verify, the first is named.
    const std::vector<SigningKey> both_expired{{"old-secret", "a", end_of_q3},
                                               {"old-secret", "b", end_of_q3}};
    BOOST_TEST(outcome(signed_by("old-secret"), both_expired, later) == "expired a");
}

BOOST_AUTO_TEST_CASE(a_current_key_wins_over_an_expired_one_that_also_verifies) {
    // A subaccount event signed by an expired subaccount key and a current parent key.
    const EpochMicros later = end_of_q3 + one_second;
    BOOST_TEST(outcome(signed_by("old-secret", "new-secret"), rotation, later) == "1 parent");
}

BOOST_AUTO_TEST_CASE(parent_signature_alone_verifies) {
    SignatureParams params = signed_by("subaccount-secret", "new-secret");
    BOOST_TEST(outcome(params, rotation, end_of_q3) == "1 parent");
    // The account's own signature is preferred when the same key verifies both.
    params = signed_by("new-secret", "new-secret");
    BOOST_TEST(outcome(params, rotation, end_of_q3) == "1");
    // An empty parent-signature never matches.
    params = signed_by("subaccount-secret");
    BOOST_TEST(outcome(params, rotation, end_of_q3) == "none");
}

BOOST_AUTO_TEST_CASE(no_keys_verify_nothing) {
    BOOST_TEST(outcome(signed_by("old-secret"), std::vector<SigningKey>{}, end_of_q3) == "none");
}

BOOST_AUTO_TEST_CASE(check_key_reports_each_signature) {
    const auto params = signed_by("a", "b");
    const auto a = mailgun::check_key(params, "a");
    const auto b = mailgun::check_key(params, "b");
    const auto c = mailgun::check_key(params, "c");
    BOOST_TEST((a.signature && !a.parent_signature));
    BOOST_TEST((!b.signature && b.parent_signature));
    BOOST_TEST((!c.signature && !c.parent_signature));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_key_ring
