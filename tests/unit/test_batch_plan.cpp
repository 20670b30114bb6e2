// The bookkeeping of a group-commit batch: which item owns a token, and each
// request's outcome from what the transaction found. No database.
#include "storage/batch_plan.hpp"
#include "util/hex.hpp"

#include <boost/test/unit_test.hpp>

#include <deque>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_batch_plan {

using namespace leadhook;
using storage::BatchPlan;
using storage::LedgerEntry;
using storage::RecordStatus;

namespace {

/// Records that stay put while a plan points at them.
struct Records {
    mailgun::Event event;
    std::deque<storage::EventRecord> owned;
    std::vector<const storage::EventRecord*> pointers;

    Records& add(std::string token, std::string body_sha256) {
        owned.push_back(storage::EventRecord{event, 1, 1, 1, std::move(token), "sig", "k",
                                             std::move(body_sha256), "/r"});
        pointers.push_back(&owned.back());
        return *this;
    }
};

const std::string body_a(32, 'a');
const std::string body_b(32, 'b');

void check_recorded(const storage::BatchResults& results, std::size_t i, RecordStatus status,
                    std::optional<std::int64_t> lead) {
    BOOST_TEST_CONTEXT("item " << i) {
        BOOST_REQUIRE(results.at(i).has_value());
        BOOST_TEST(static_cast<int>(results[i]->status) == static_cast<int>(status));
        BOOST_TEST(results[i]->lead_id.has_value() == lead.has_value());
        if (lead && results[i]->lead_id) {
            BOOST_TEST(*results[i]->lead_id == *lead);
        }
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(batch_plan)

BOOST_AUTO_TEST_CASE(only_the_first_item_with_a_token_owns_it) {
    Records r;
    r.add("t1", body_a).add("t2", body_a).add("t1", body_b);
    BatchPlan plan(r.pointers);
    BOOST_TEST(plan.is_owner(0));
    BOOST_TEST(plan.is_owner(1));
    BOOST_TEST(!plan.is_owner(2));
    BOOST_TEST(plan.items()[2].owner == 0u);
    BOOST_TEST(plan.owner_of("t1") == &plan.items()[0]);
    BOOST_TEST(plan.owner_of("t3") == nullptr);
}

BOOST_AUTO_TEST_CASE(new_events_are_the_claimed_owners_only) {
    Records r;
    r.add("t1", body_a).add("t2", body_a).add("t1", body_a);
    BatchPlan plan(r.pointers);
    plan.items()[0].claimed = true;
    std::vector<std::size_t> seen;
    plan.for_each_new([&seen](std::size_t i, storage::BatchItem&) { seen.push_back(i); });
    BOOST_TEST(seen == std::vector<std::size_t>{0});
}

BOOST_AUTO_TEST_CASE(claimed_and_written_is_stored_with_its_lead) {
    Records r;
    r.add("t1", body_a).add("t2", body_a);
    BatchPlan plan(r.pointers);
    auto& items = plan.items();
    items[0].claimed = items[0].written = true;
    items[0].lead_id = 7;
    items[1].claimed = items[1].written = true; // no lead matched
    const auto results = plan.outcomes();
    check_recorded(results, 0, RecordStatus::stored, 7);
    check_recorded(results, 1, RecordStatus::stored, std::nullopt);
}

BOOST_AUTO_TEST_CASE(claimed_but_not_written_is_a_repeated_mailgun_event) {
    Records r;
    r.add("t1", body_a);
    BatchPlan plan(r.pointers);
    plan.items()[0].claimed = true;
    plan.items()[0].lead_id = 9; // the original's lead, from the link
    check_recorded(plan.outcomes(), 0, RecordStatus::duplicate, 9);
}

BOOST_AUTO_TEST_CASE(the_same_request_twice_in_a_batch_is_a_duplicate_of_the_first) {
    Records r;
    r.add("t1", body_a).add("t1", body_a);
    BatchPlan plan(r.pointers);
    plan.items()[0].claimed = plan.items()[0].written = true;
    plan.items()[0].lead_id = 3;
    const auto results = plan.outcomes();
    check_recorded(results, 0, RecordStatus::stored, 3);
    check_recorded(results, 1, RecordStatus::duplicate, 3);
}

BOOST_AUTO_TEST_CASE(a_token_reused_with_another_body_in_a_batch_is_a_forgery) {
    Records r;
    r.add("t1", body_a).add("t1", body_b);
    BatchPlan plan(r.pointers);
    plan.items()[0].claimed = plan.items()[0].written = true;
    plan.items()[0].lead_id = 3;
    const auto results = plan.outcomes();
    check_recorded(results, 0, RecordStatus::stored, 3);
    check_recorded(results, 1, RecordStatus::forgery, std::nullopt);
}

BOOST_AUTO_TEST_CASE(a_token_in_the_ledger_is_judged_by_its_body_for_every_item) {
    Records r;
    r.add("t1", body_a).add("t1", body_b).add("t2", body_b);
    BatchPlan plan(r.pointers);
    plan.add_ledger_entry("t1", LedgerEntry{to_hex(body_a), 11});
    plan.add_ledger_entry("t2", LedgerEntry{to_hex(body_a), 12});
    const auto results = plan.outcomes();
    check_recorded(results, 0, RecordStatus::duplicate, 11);
    check_recorded(results, 1, RecordStatus::forgery, std::nullopt);
    check_recorded(results, 2, RecordStatus::forgery, std::nullopt);
}

BOOST_AUTO_TEST_CASE(an_unclaimed_token_missing_from_the_ledger_is_an_internal_error) {
    Records r;
    r.add("t1", body_a).add("t2", body_a);
    BatchPlan plan(r.pointers);
    plan.items()[1].claimed = plan.items()[1].written = true;
    const auto results = plan.outcomes();
    BOOST_REQUIRE(!results[0].has_value());
    BOOST_TEST(static_cast<int>(results[0].error().kind) ==
               static_cast<int>(storage::StoreFailure::internal));
    check_recorded(results, 1, RecordStatus::stored, std::nullopt); // the others are unaffected
}

BOOST_AUTO_TEST_CASE(tokens_are_compared_as_stored) {
    Records r;
    r.add(std::string("t\0x", 3), body_a); // NUL cannot be stored: it becomes U+FFFD
    BatchPlan plan(r.pointers);
    BOOST_TEST(plan.items()[0].token.find('\0') == std::string::npos);
    BOOST_TEST(plan.owner_of(plan.items()[0].token) == &plan.items()[0]);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_batch_plan
