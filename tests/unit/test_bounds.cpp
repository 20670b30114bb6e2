#include "mailgun/bounds.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_bounds {

using namespace leadhook;
using mailgun::oversized;

namespace {

mailgun::SignatureParams mailguns_own() {
    return {.timestamp = "1764000000",
            .token = std::string(50, 'a'),
            .signature = std::string(64, 'f'),
            .parent_signature = {}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(bounds)

BOOST_AUTO_TEST_CASE(a_signature_triple_as_mailgun_sends_it_passes) {
    BOOST_TEST(!oversized(mailguns_own()).has_value());
    auto longest = mailguns_own();
    longest.token.assign(mailgun::max_token_bytes, 'a');
    longest.timestamp.assign(mailgun::max_timestamp_bytes, '1');
    longest.parent_signature.assign(64, 'e');
    BOOST_TEST(!oversized(longest).has_value());
}

BOOST_AUTO_TEST_CASE(each_part_of_the_triple_is_bounded) {
    auto token = mailguns_own();
    token.token.assign(3000, 'a');
    BOOST_TEST(oversized(token).value_or("") ==
               "token is 3000 bytes, longer than Mailgun sends (at most 256)");
    auto timestamp = mailguns_own();
    timestamp.timestamp.assign(21, '1');
    BOOST_TEST(oversized(timestamp).value_or("").starts_with("timestamp is 21 bytes"));
    auto signature = mailguns_own();
    signature.signature.assign(65, 'f');
    BOOST_TEST(oversized(signature).value_or("").starts_with("signature is 65 bytes"));
    auto parent = mailguns_own();
    parent.parent_signature.assign(65, 'f');
    BOOST_TEST(oversized(parent).value_or("").starts_with("parent-signature is 65 bytes"));
}

BOOST_AUTO_TEST_CASE(key_fields_and_texts_of_an_event_are_bounded) {
    mailgun::Event event;
    event.message_id.assign(mailgun::max_key_field_bytes, 'm');
    event.error.assign(mailgun::max_text_field_bytes, 'e');
    event.tags = {std::string(mailgun::max_text_field_bytes, 't')};
    BOOST_TEST(!oversized(event).has_value());
    auto id = event;
    id.mailgun_event_id.assign(mailgun::max_key_field_bytes + 1, 'i');
    BOOST_TEST(oversized(id).value_or("").starts_with("event id is 999 bytes"));
    auto recipient = event;
    recipient.recipient.assign(mailgun::max_key_field_bytes + 1, 'r');
    BOOST_TEST(oversized(recipient).value_or("").starts_with("recipient is 999 bytes"));
    auto error = event;
    error.error.push_back('e');
    BOOST_TEST(oversized(error).value_or("") ==
               "error is 65537 bytes, longer than Mailgun sends (at most 65536)");
    auto tag = event;
    tag.tags.push_back(std::string(mailgun::max_text_field_bytes + 1, 't'));
    BOOST_TEST(oversized(tag).value_or("").starts_with("a tag is 65537 bytes"));
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_bounds
