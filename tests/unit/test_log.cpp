#include "obs/log.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_log {

using namespace leadhook;
using obs::format_logfmt;

namespace {

/// Microseconds since the epoch of a UTC calendar time.
EpochMicros utc(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
    using namespace std::chrono;
    const sys_days midnight{year{y} / month{mo} / day{d}};
    return duration_cast<microseconds>(midnight.time_since_epoch() + hours{h} + minutes{mi} +
                                       seconds{s} + microseconds{us})
        .count();
}

const EpochMicros t0 = utc(2026, 11, 29, 1, 2, 3, 4);

/// The line for one field `k` with `value`, minus the timestamp and level.
std::string field_text(std::string value) {
    const std::string line = format_logfmt(t0, "info", {{"k", std::move(value)}});
    const std::string prefix = "ts=2026-11-29T01:02:03.000004Z level=info ";
    BOOST_TEST_REQUIRE(line.starts_with(prefix), line);
    BOOST_TEST_REQUIRE(line.ends_with("\n"), line);
    return line.substr(prefix.size(), line.size() - prefix.size() - 1);
}

long newlines(std::string_view text) {
    return static_cast<long>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

// A suite namespace named `log` at global scope would clash with ::log() from
// <cmath>, so this one lives inside a namespace of its own.
namespace leadhook_unit {

BOOST_AUTO_TEST_SUITE(log)

BOOST_AUTO_TEST_CASE(timestamp_is_utc_with_microseconds) {
    BOOST_TEST(format_logfmt(t0, "info", {}) == "ts=2026-11-29T01:02:03.000004Z level=info\n");
    BOOST_TEST(format_logfmt(0, "warn", {}) == "ts=1970-01-01T00:00:00.000000Z level=warn\n");
    BOOST_TEST(format_logfmt(utc(2024, 2, 29, 23, 59, 59, 999999), "error", {}) ==
               "ts=2024-02-29T23:59:59.999999Z level=error\n");
}

BOOST_AUTO_TEST_CASE(fields_follow_in_order) {
    BOOST_TEST(format_logfmt(t0, "info", {{"req", "abc"}, {"status", "200"}, {"path", "/api"}}) ==
               "ts=2026-11-29T01:02:03.000004Z level=info req=abc status=200 path=/api\n");
}

BOOST_AUTO_TEST_CASE(plain_values_are_bare) {
    BOOST_TEST(field_text("delivered") == "k=delivered");
    BOOST_TEST(field_text("a@b.c/x-y_z:1,2") == "k=a@b.c/x-y_z:1,2");
    BOOST_TEST(field_text("Z\xC3\xBCrich") == "k=Z\xC3\xBCrich"); // UTF-8 passes through
}

BOOST_AUTO_TEST_CASE(values_that_need_it_are_quoted_and_escaped) {
    BOOST_TEST(field_text("two words") == R"(k="two words")");
    BOOST_TEST(field_text(R"(say "hi")") == R"(k="say \"hi\"")");
    BOOST_TEST(field_text("a=b") == R"(k="a=b")");
    BOOST_TEST(field_text(R"(C:\path)") == R"(k="C:\\path")");
    BOOST_TEST(field_text("line1\nline2") == R"(k="line1\nline2")");
    BOOST_TEST(field_text("tab\there") == R"(k="tab\x09here")");
    BOOST_TEST(field_text("cr\rlf") == R"(k="cr\x0dlf")");
    BOOST_TEST(field_text(std::string("nul\0x", 5)) == R"(k="nul\x00x")");
    BOOST_TEST(field_text("bell\x07") == R"(k="bell\x07")");
    BOOST_TEST(field_text("del\x7f") == R"(k="del\x7f")");
    BOOST_TEST(field_text(" ") == R"(k=" ")");
}

// A line is valid UTF-8 whatever a client sent (a log shipper may reject or
// mangle one that is not), and no C1 control reaches a terminal.
BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_are_escaped) {
    BOOST_TEST(field_text("caf\xE9") == R"(k="caf\xe9")");           // Latin-1
    BOOST_TEST(field_text("cut\xC3") == R"(k="cut\xc3")");           // truncated sequence
    BOOST_TEST(field_text("\xC0\xAF") == R"(k="\xc0\xaf")");         // overlong '/'
    BOOST_TEST(field_text("\xED\xA0\x80") == R"(k="\xed\xa0\x80")"); // a UTF-16 surrogate
    BOOST_TEST(field_text("csi\xC2\x9B"
                          "2J") == R"(k="csi\xc2\x9b2J")");             // C1 control U+009B
    BOOST_TEST(field_text("nbsp\xC2\xA0") == "k=nbsp\xC2\xA0");         // U+00A0 is printable
    BOOST_TEST(field_text("\xF0\x9F\x93\xA7") == "k=\xF0\x9F\x93\xA7"); // U+1F4E7, 4 bytes
    BOOST_TEST(field_text("\xC3\xBC\xFF\xC3\xBC") == "k=\"\xC3\xBC\\xff\xC3\xBC\"");
}

BOOST_AUTO_TEST_CASE(a_hostile_value_cannot_forge_a_line_or_a_field) {
    const std::string line = format_logfmt(
        t0, "info",
        {{"path", "/x\nts=2000-01-01T00:00:00Z level=error forged=1"}, {"status", "200"}});
    BOOST_TEST(newlines(line) == 1);
    BOOST_TEST(line.back() == '\n');
    BOOST_TEST(line.find(" forged=1 ") == std::string::npos);
    BOOST_TEST(line.ends_with(" status=200\n"));
    const std::string quote = format_logfmt(t0, "info", {{"a", "x\" b=\"y"}, {"c", "d"}});
    BOOST_TEST(quote == "ts=2026-11-29T01:02:03.000004Z level=info a=\"x\\\" b=\\\"y\" c=d\n");
}

BOOST_AUTO_TEST_CASE(empty_values_are_left_out) {
    BOOST_TEST(format_logfmt(t0, "info", {{"a", ""}, {"b", "1"}, {"c", ""}}) ==
               "ts=2026-11-29T01:02:03.000004Z level=info b=1\n");
}

BOOST_AUTO_TEST_CASE(exactly_one_trailing_newline) {
    for (const std::string value : {"", "x", "a\nb\nc\n", "\n", "\r\n"}) {
        const std::string line = format_logfmt(t0, "info", {{"k", value}, {"m", "\n\n"}});
        BOOST_TEST(newlines(line) == 1);
        BOOST_TEST(line.back() == '\n');
    }
}

BOOST_AUTO_TEST_CASE(logger_writes_whole_lines_with_the_clock_time) {
    FixedClock clock{t0};
    test::CapturedOutput out;
    obs::Logger logger(out.file(), clock);
    logger.write("info", {{"req", "r1"}, {"status", "200"}});
    clock.set(t0 + 1);
    logger.info("started up");
    logger.warn("careful");
    logger.error("broken\nbadly");
    const auto lines = test::lines_of(out.text());
    BOOST_TEST_REQUIRE(lines.size() == 4u);
    BOOST_TEST(lines[0] == "ts=2026-11-29T01:02:03.000004Z level=info req=r1 status=200");
    BOOST_TEST(lines[1] == "ts=2026-11-29T01:02:03.000005Z level=info msg=\"started up\"");
    BOOST_TEST(lines[2] == "ts=2026-11-29T01:02:03.000005Z level=warn msg=careful");
    BOOST_TEST(lines[3] == "ts=2026-11-29T01:02:03.000005Z level=error msg=\"broken\\nbadly\"");
    BOOST_TEST(out.text().back() == '\n');
}

/// Four threads log 250 lines each, some longer than one atomic write
/// (PIPE_BUF), to `out`; `text` returns what arrived. Every line must be whole.
template <typename Text> void check_lines_never_interleave(std::FILE* out, Text text) {
    FixedClock clock{t0};
    obs::Logger logger(out, clock);
    constexpr int threads = 4;
    constexpr int per_thread = 250;
    const auto pad_length = [](int i) { return i % 10 == 0 ? 5000 : 200; };
    {
        std::vector<std::jthread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&logger, &pad_length, t] {
                for (int i = 0; i < per_thread; ++i) {
                    const std::string padding(pad_length(i), static_cast<char>('a' + t));
                    logger.write("info", {{"worker", std::to_string(t)}, {"pad", padding}});
                }
            });
        }
    }
    const auto lines = test::lines_of(text());
    BOOST_TEST_REQUIRE(lines.size() == static_cast<std::size_t>(threads * per_thread));
    for (const auto& line : lines) {
        const auto worker = line.find("worker=");
        BOOST_TEST_REQUIRE(worker != std::string::npos);
        const char t = line[worker + 7];
        const auto pad = line.size() - line.find(" pad=") - 5;
        BOOST_TEST_REQUIRE((pad == 200 || pad == 5000));
        const std::string expected =
            "ts=2026-11-29T01:02:03.000004Z level=info worker=" + std::string(1, t) +
            " pad=" + std::string(pad, static_cast<char>('a' + (t - '0')));
        BOOST_TEST_REQUIRE(line == expected);
    }
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave_in_a_memory_stream) {
    test::CapturedOutput out;
    check_lines_never_interleave(out.file(), [&] { return out.text(); });
}

// A file descriptor, as stderr is: short lines skip the lock.
BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave_in_a_file) {
    std::FILE* file = std::tmpfile();
    BOOST_TEST_REQUIRE(file != nullptr);
    check_lines_never_interleave(file, [&] {
        std::string text;
        std::rewind(file);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) {
            text.append(buffer, n);
        }
        return text;
    });
    BOOST_TEST(std::fclose(file) == 0);
}

BOOST_AUTO_TEST_CASE(priority_prefixes_follow_the_syslog_levels) {
    BOOST_TEST(obs::syslog_priority_prefix("error") == "<3>");
    BOOST_TEST(obs::syslog_priority_prefix("warn") == "<4>");
    BOOST_TEST(obs::syslog_priority_prefix("info") == "<6>");
    BOOST_TEST(obs::syslog_priority_prefix("debug") == "<7>");
    BOOST_TEST(obs::syslog_priority_prefix("other") == "<6>");
}

BOOST_AUTO_TEST_CASE(journald_lines_carry_the_priority_and_are_otherwise_the_same) {
    FixedClock clock{t0};
    test::CapturedOutput plain_out;
    test::CapturedOutput journal_out;
    obs::Logger plain(plain_out.file(), clock);
    obs::Logger journal(journal_out.file(), clock, obs::LinePrefix::syslog_priority);
    for (auto* logger : {&plain, &journal}) {
        logger->error("broken");
        logger->warn("careful");
        logger->info("fine");
        logger->write("info", {{"path", "/x\n<3>forged"}});
    }
    const auto lines = test::lines_of(journal_out.text());
    const auto expected = test::lines_of(plain_out.text());
    BOOST_TEST_REQUIRE(lines.size() == 4u);
    BOOST_TEST_REQUIRE(expected.size() == 4u);
    BOOST_TEST(lines[0] == "<3>" + expected[0]);
    BOOST_TEST(lines[1] == "<4>" + expected[1]);
    BOOST_TEST(lines[2] == "<6>" + expected[2]);
    BOOST_TEST(lines[3] == "<6>" + expected[3]); // a value cannot start a line of its own
    BOOST_TEST(expected[0] == "ts=2026-11-29T01:02:03.000004Z level=error msg=broken");
}

BOOST_AUTO_TEST_CASE(journal_stream_must_name_this_device_and_inode) {
    BOOST_TEST(obs::is_journal_stream("8:12345", 8, 12345));
    BOOST_TEST(obs::is_journal_stream("0:18446744073709551615", 0, 18446744073709551615u));
    BOOST_TEST(!obs::is_journal_stream("8:12345", 8, 12346)); // stderr was redirected since
    BOOST_TEST(!obs::is_journal_stream("9:12345", 8, 12345));
    for (const char* bad : {"", ":", "8", "8:", ":12345", "8:12345:1", "x:1", "8:1x", "-8:12345",
                            " 8:12345", "8:99999999999999999999"}) {
        BOOST_TEST(!obs::is_journal_stream(bad, 8, 12345), bad);
    }
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace leadhook_unit

} // namespace unit_log
