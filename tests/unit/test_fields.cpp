#include "body/fields.hpp"

#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_fields {

using namespace leadhook::body;
using leadhook::test::text_of;

namespace {

Field make(std::string name, std::string value) {
    Field field;
    field.name = std::move(name);
    field.value = std::move(value);
    field.size = field.value.size();
    return field;
}

Fields collision_sample() {
    return {make("token", "metadata-token"), make("tag", "one"), make("token", "actual-token"),
            make("Tag", "other-case"),       make("tag", "two"), make("tag", "")};
}

} // namespace

BOOST_AUTO_TEST_SUITE(fields)

BOOST_AUTO_TEST_CASE(first_and_last_pick_the_ends_of_repeated_fields) {
    const Fields sample = collision_sample();
    BOOST_TEST(text_of(first(sample, "token")) == "metadata-token");
    BOOST_TEST(text_of(last(sample, "token")) == "actual-token");
    BOOST_TEST(text_of(first(sample, "tag")) == "one");
    BOOST_TEST(text_of(last(sample, "tag")) == "");
}

BOOST_AUTO_TEST_CASE(first_and_last_point_into_the_fields) {
    const Fields sample = collision_sample();
    BOOST_TEST(first(sample, "token") == &sample[0].value);
    BOOST_TEST(last(sample, "token") == &sample[2].value);
}

BOOST_AUTO_TEST_CASE(all_keeps_arrival_order_and_empty_values) {
    const Fields sample = collision_sample();
    const std::vector<std::string> expected{"one", "two", ""};
    BOOST_TEST(all(sample, "tag") == expected, boost::test_tools::per_element());
    BOOST_TEST(all(sample, "Tag") == std::vector<std::string>{"other-case"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(names_match_exactly) {
    const Fields sample = collision_sample();
    BOOST_TEST(text_of(first(sample, "TOKEN")) == "<absent>");
    BOOST_TEST(text_of(first(sample, "toke")) == "<absent>");
    BOOST_TEST(text_of(last(sample, "Tag")) == "other-case");
}

BOOST_AUTO_TEST_CASE(absent_names_and_empty_lists) {
    const Fields empty;
    BOOST_TEST(text_of(first(empty, "token")) == "<absent>");
    BOOST_TEST(text_of(last(empty, "token")) == "<absent>");
    BOOST_TEST(all(empty, "token").empty());
    BOOST_TEST(all(collision_sample(), "signature").empty());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_fields
