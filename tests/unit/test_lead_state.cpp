#include "domain/lead_state.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_lead_state {

using namespace leadhook;
using domain::apply_event;
using domain::LeadState;
using mailgun::Event;
using mailgun::EventType;

namespace {

constexpr EpochMicros now1 = 1'700'000'000'000'000;
constexpr EpochMicros now2 = now1 + 1'000'000;

Event event(EventType type, std::string ip = "", std::string device = "") {
    Event e;
    e.type = type;
    e.ip = std::move(ip);
    e.device_type = std::move(device);
    return e;
}

Event failure(EventType type, std::string code, std::string error, std::string description,
              std::string reason = "") {
    Event e = event(type);
    e.code = std::move(code);
    e.error = std::move(error);
    e.description = std::move(description);
    e.reason = std::move(reason);
    return e;
}

/// The flags as a string, so a failure shows them all: "delivered bounced ...".
std::string flags(const LeadState& s) {
    std::string out;
    const std::pair<const char*, bool> all[]{{"delivered", s.delivered}, {"bounced", s.bounced},
                                             {"spam", s.spam},           {"unsub", s.unsub},
                                             {"dropped", s.dropped},     {"optout", s.optout}};
    for (const auto& [name, on] : all) {
        if (on) {
            out += out.empty() ? name : std::string(" ") + name;
        }
    }
    return out;
}

/// Every flag that was on in `before` is still on in `after`.
bool flags_kept(const LeadState& before, const LeadState& after) {
    const auto kept = [](bool was, bool is) { return !was || is; };
    return kept(before.delivered, after.delivered) && kept(before.bounced, after.bounced) &&
           kept(before.spam, after.spam) && kept(before.unsub, after.unsub) &&
           kept(before.dropped, after.dropped) && kept(before.optout, after.optout);
}

} // namespace

BOOST_AUTO_TEST_SUITE(lead_state)

BOOST_AUTO_TEST_CASE(delivered_sets_delivered_and_the_status) {
    LeadState lead;
    BOOST_TEST(apply_event(lead, event(EventType::delivered), 10, now1));
    BOOST_TEST(flags(lead) == "delivered");
    BOOST_TEST(lead.status == "delivered");
    BOOST_TEST(test::show(lead.status_at) == "10");
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now1));
    BOOST_TEST(lead.opens == 0);
}

BOOST_AUTO_TEST_CASE(opened_and_clicked_set_delivered_count_once_and_record_details) {
    LeadState lead;
    BOOST_TEST(apply_event(lead, event(EventType::opened, "1.2.3.4", "mobile"), 10, now1));
    BOOST_TEST(flags(lead) == "delivered");
    BOOST_TEST(lead.opens == 1);
    BOOST_TEST(lead.clicks == 0);
    BOOST_TEST(lead.open_ip == "1.2.3.4");
    BOOST_TEST(lead.open_device == "mobile");
    BOOST_TEST(test::show(lead.open_at) == "10");
    BOOST_TEST(lead.status == "opened");
    BOOST_TEST(apply_event(lead, event(EventType::clicked, "5.6.7.8", "desktop"), 20, now1));
    BOOST_TEST(lead.opens == 1);
    BOOST_TEST(lead.clicks == 1);
    BOOST_TEST(lead.click_ip == "5.6.7.8");
    BOOST_TEST(lead.click_device == "desktop");
    BOOST_TEST(lead.open_ip == "1.2.3.4");
    BOOST_TEST(lead.status == "clicked");
    BOOST_TEST(apply_event(lead, event(EventType::opened), 30, now1));
    BOOST_TEST(apply_event(lead, event(EventType::clicked), 40, now1));
    BOOST_TEST(lead.opens == 2);
    BOOST_TEST(lead.clicks == 2);
}

BOOST_AUTO_TEST_CASE(device_falls_back_to_the_client_name) {
    LeadState lead;
    Event e = event(EventType::clicked, "1.1.1.1");
    e.client_name = "Thunderbird";
    apply_event(lead, e, 10, now1);
    BOOST_TEST(lead.click_device == "Thunderbird");
}

BOOST_AUTO_TEST_CASE(bounced_sets_bounced_error_and_code) {
    LeadState lead;
    BOOST_TEST(
        apply_event(lead, failure(EventType::bounced, "550", "No such user", "desc"), 10, now1));
    BOOST_TEST(flags(lead) == "bounced");
    BOOST_TEST(lead.bounce_error == "No such user");
    BOOST_TEST(lead.bounce_code == "550");
    BOOST_TEST(lead.status == "bounced");
    BOOST_TEST(lead.dropped_reason == "");
    // Without an MTA answer, Mailgun's description stands in.
    LeadState other;
    apply_event(other, failure(EventType::bounced, "5.1.1", "", "Mailbox unknown"), 10, now1);
    BOOST_TEST(other.bounce_error == "Mailbox unknown");
    BOOST_TEST(other.bounce_code == "5.1.1");
}

BOOST_AUTO_TEST_CASE(dropped_and_rejected_set_dropped_with_reason_code_description) {
    for (EventType type : {EventType::dropped, EventType::rejected}) {
        BOOST_TEST_CONTEXT(mailgun::to_string(type)) {
            LeadState lead;
            BOOST_TEST(apply_event(
                lead, failure(type, "605", "", "Not delivering to previously bounced", "hardfail"),
                10, now1));
            BOOST_TEST(flags(lead) == "dropped");
            BOOST_TEST(lead.dropped_reason == "hardfail");
            BOOST_TEST(lead.dropped_code == "605");
            BOOST_TEST(lead.dropped_description == "Not delivering to previously bounced");
            BOOST_TEST(lead.status == mailgun::to_string(type));
            BOOST_TEST(lead.bounce_code == "");
        }
    }
    LeadState lead; // without a description the MTA's answer is kept instead
    apply_event(lead, failure(EventType::dropped, "", "mx timeout", ""), 10, now1);
    BOOST_TEST(lead.dropped_description == "mx timeout");
}

BOOST_AUTO_TEST_CASE(complaints_and_unsubscribes_opt_out) {
    LeadState spam;
    BOOST_TEST(apply_event(spam, event(EventType::complained), 10, now1));
    BOOST_TEST(flags(spam) == "spam optout");
    BOOST_TEST(spam.status == "complained");
    LeadState unsub;
    BOOST_TEST(apply_event(unsub, event(EventType::unsubscribed), 10, now1));
    BOOST_TEST(flags(unsub) == "unsub optout");
    BOOST_TEST(unsub.status == "unsubscribed");
}

BOOST_AUTO_TEST_CASE(deferred_sets_no_flag) {
    LeadState lead;
    BOOST_TEST(apply_event(lead, failure(EventType::deferred, "451", "try later", ""), 10, now1));
    BOOST_TEST(flags(lead) == "");
    BOOST_TEST(lead.status == "deferred");
    BOOST_TEST(lead.bounce_code == "");
    BOOST_TEST(lead.dropped_code == "");
}

BOOST_AUTO_TEST_CASE(accepted_stored_and_unknown_change_nothing) {
    for (EventType type : {EventType::accepted, EventType::stored, EventType::unknown}) {
        BOOST_TEST_CONTEXT(mailgun::to_string(type)) {
            LeadState fresh;
            BOOST_TEST(!apply_event(fresh, event(type, "1.2.3.4", "x"), 10, now1));
            BOOST_TEST((fresh == LeadState{}));
            LeadState busy;
            apply_event(busy, event(EventType::opened, "9.9.9.9"), 5, now1);
            const LeadState before = busy;
            BOOST_TEST(!apply_event(busy, event(type), 50, now2));
            BOOST_TEST((busy == before));
            BOOST_TEST(test::show(busy.last_updated) == std::to_string(now1));
        }
    }
}

BOOST_AUTO_TEST_CASE(status_follows_event_time_not_arrival) {
    LeadState lead;
    apply_event(lead, event(EventType::opened, "1.1.1.1"), 20, now1);
    // delivered at t=10 arrives after the open at t=20: already implied, nothing changes.
    BOOST_TEST(!apply_event(lead, event(EventType::delivered), 10, now2));
    BOOST_TEST(lead.status == "opened");
    BOOST_TEST(test::show(lead.status_at) == "20");
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now1));
    // An older bounce still sets its flag and details, but not the status.
    BOOST_TEST(apply_event(lead, failure(EventType::bounced, "550", "gone", ""), 5, now2));
    BOOST_TEST(flags(lead) == "delivered bounced");
    BOOST_TEST(lead.bounce_code == "550");
    BOOST_TEST(lead.status == "opened");
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now2));
    // A newer event takes the status.
    BOOST_TEST(apply_event(lead, event(EventType::unsubscribed), 30, now2));
    BOOST_TEST(lead.status == "unsubscribed");
    BOOST_TEST(test::show(lead.status_at) == "30");
}

BOOST_AUTO_TEST_CASE(older_open_counts_but_keeps_the_newer_details) {
    LeadState lead;
    apply_event(lead, event(EventType::opened, "20.0.0.1", "desktop"), 20, now1);
    BOOST_TEST(apply_event(lead, event(EventType::opened, "10.0.0.1", "mobile"), 10, now2));
    BOOST_TEST(lead.opens == 2);
    BOOST_TEST(lead.open_ip == "20.0.0.1");
    BOOST_TEST(lead.open_device == "desktop");
    BOOST_TEST(test::show(lead.open_at) == "20");
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now2));
    // The same for clicks; an older one only fills a gap.
    apply_event(lead, event(EventType::clicked, "", ""), 40, now1);
    apply_event(lead, event(EventType::clicked, "30.0.0.1", "tablet"), 30, now1);
    BOOST_TEST(lead.clicks == 2);
    BOOST_TEST(lead.click_ip == "30.0.0.1");
    BOOST_TEST(lead.click_device == "tablet");
    BOOST_TEST(test::show(lead.click_at) == "40");
    apply_event(lead, event(EventType::clicked, "50.0.0.1", "mobile"), 50, now1);
    BOOST_TEST(lead.click_ip == "50.0.0.1");
}

BOOST_AUTO_TEST_CASE(out_of_order_opened_delivered_bounced) {
    LeadState lead;
    BOOST_TEST(apply_event(lead, event(EventType::opened, "1.1.1.1"), 300, now1));
    BOOST_TEST(!apply_event(lead, event(EventType::delivered), 200, now1));
    BOOST_TEST(apply_event(lead, failure(EventType::bounced, "550", "no", ""), 100, now2));
    BOOST_TEST(flags(lead) == "delivered bounced");
    BOOST_TEST(lead.opens == 1);
    BOOST_TEST(lead.status == "opened");
    BOOST_TEST(test::show(lead.status_at) == "300");
    BOOST_TEST(lead.bounce_error == "no");
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now2));
}

BOOST_AUTO_TEST_CASE(any_arrival_order_gives_the_same_lead) {
    // One event of each kind at distinct times; every permutation of arrival
    // must end in the same state, and no flag may ever turn off on the way.
    std::vector<std::pair<Event, EpochMicros>> events{
        {event(EventType::delivered), 10},
        {event(EventType::opened, "1.1.1.1", "mobile"), 20},
        {event(EventType::clicked, "2.2.2.2", "desktop"), 30},
        {failure(EventType::dropped, "605", "", "suppressed", "hardfail"), 5},
        {event(EventType::complained), 40},
        {event(EventType::deferred), 7},
        {event(EventType::accepted), 1},
    };
    std::vector<std::size_t> order(events.size());
    for (std::size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::optional<LeadState> reference;
    int permutations = 0;
    do {
        LeadState lead;
        for (std::size_t i : order) {
            const LeadState before = lead;
            apply_event(lead, events[i].first, events[i].second, now1);
            BOOST_TEST_REQUIRE(flags_kept(before, lead));
            BOOST_TEST_REQUIRE(lead.opens + lead.clicks >= before.opens + before.clicks);
        }
        if (!reference) {
            reference = lead;
            BOOST_TEST(flags(lead) == "delivered spam dropped optout");
            BOOST_TEST(lead.status == "complained");
            BOOST_TEST(lead.opens == 1);
            BOOST_TEST(lead.clicks == 1);
            BOOST_TEST(lead.dropped_code == "605");
        }
        BOOST_TEST_REQUIRE((lead == *reference));
        ++permutations;
    } while (std::next_permutation(order.begin(), order.end()));
    BOOST_TEST(permutations == 5040);
}

// Bounce details follow the newest bounce by event time, even when a later
// open sits between two bounces, so the result does not depend on arrival order.
BOOST_AUTO_TEST_CASE(failure_details_follow_the_newest_failure) {
    LeadState lead;
    apply_event(lead, failure(EventType::bounced, "550", "older", ""), 10, now1);
    apply_event(lead, event(EventType::opened), 30, now1);
    apply_event(lead, failure(EventType::bounced, "551", "newer", ""), 20, now1);
    BOOST_TEST(lead.bounce_error == "newer");
    LeadState reversed;
    apply_event(reversed, failure(EventType::bounced, "551", "newer", ""), 20, now1);
    apply_event(reversed, event(EventType::opened), 30, now1);
    apply_event(reversed, failure(EventType::bounced, "550", "older", ""), 10, now1);
    BOOST_TEST(reversed.bounce_error == "newer");
    BOOST_TEST(reversed.bounce_code == "551");
}

BOOST_AUTO_TEST_CASE(flags_are_never_cleared) {
    LeadState lead;
    for (EventType type : {EventType::bounced, EventType::dropped, EventType::complained,
                           EventType::unsubscribed, EventType::opened}) {
        apply_event(lead, event(type), 100, now1);
    }
    const std::string all = "delivered bounced spam unsub dropped optout";
    BOOST_TEST(flags(lead) == all);
    for (int i = 0; i <= static_cast<int>(EventType::unknown); ++i) {
        for (EpochMicros t : {EpochMicros{1}, EpochMicros{1000}}) {
            apply_event(lead, event(static_cast<EventType>(i)), t, now2);
            BOOST_TEST(flags(lead) == all);
        }
    }
}

BOOST_AUTO_TEST_CASE(last_updated_moves_only_on_change) {
    LeadState lead;
    apply_event(lead, event(EventType::delivered), 10, now1);
    BOOST_TEST(!apply_event(lead, event(EventType::delivered), 5, now2));
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now1));
    BOOST_TEST(apply_event(lead, event(EventType::delivered), 15, now2)); // newer status_at
    BOOST_TEST(test::show(lead.last_updated) == std::to_string(now2));
    BOOST_TEST(test::show(lead.status_at) == "15");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_lead_state
