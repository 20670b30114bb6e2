// Signing keys in the config: TOML items, key files, LEADHOOK_SIGNING_KEYS,
// labels, end dates, duplicates, and the warnings about them.
#include "config/config.hpp"
#include "config_support.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_config_keys {

namespace cfg = leadhook::config;
namespace test = leadhook::test;
using cfg::Config;
using leadhook::EpochMicros;
using leadhook::mailgun::default_label;
using leadhook::mailgun::SigningKey;

namespace {

using namespace leadhook::test::config_support;

constexpr EpochMicros new_year_2027 = 1798761600000000; // 2027-01-01T00:00:00Z
constexpr EpochMicros hour = 3600000000;

std::vector<SigningKey> file_keys(std::string_view text) {
    auto keys = cfg::parse_key_file(text, "keys.txt");
    BOOST_TEST_REQUIRE(keys.has_value(), "failed: " << test::error_text(keys));
    return std::move(keys).value();
}

std::string file_error(std::string_view text) {
    auto keys = cfg::parse_key_file(text, "keys.txt");
    return keys ? "<parsed>" : keys.error().message;
}

std::string keys_error(const std::string& keys) {
    return env_error({{"LEADHOOK_SIGNING_KEYS", keys}});
}

std::string not_after(const SigningKey& key) {
    return key.not_after ? std::to_string(*key.not_after) : "none";
}

std::string validate_keys(std::vector<SigningKey> keys) {
    Config c;
    c.signing_keys = std::move(keys);
    auto error = cfg::validate(c);
    return error ? error->message : "<valid>";
}

} // namespace

BOOST_AUTO_TEST_SUITE(config_keys)

BOOST_AUTO_TEST_CASE(toml_keys_are_strings_or_tables) {
    const auto keys = parse_ok(R"(signing_keys = [
  "plain-key",
  { key = "rotated-key", label = "2026-q3", not_after = 2027-01-01T00:00:00Z },
  { key = "offset-key", not_after = 2027-01-01T01:30:00+01:30 },
  { key = "string-date", not_after = "2026-12-31T23:59:59.5-00:00" },
])")
                          .signing_keys;
    BOOST_TEST(secrets(keys) == (Strings{"plain-key", "rotated-key", "offset-key", "string-date"}),
               boost::test_tools::per_element());
    BOOST_TEST(labels(keys) == (Strings{default_label("plain-key"), "2026-q3",
                                        default_label("offset-key"), default_label("string-date")}),
               boost::test_tools::per_element());
    BOOST_TEST(not_after(keys[0]) == "none");
    BOOST_TEST(*keys[1].not_after == new_year_2027);
    BOOST_TEST(*keys[2].not_after == new_year_2027);
    BOOST_TEST(*keys[3].not_after == new_year_2027 - 500000);
}

BOOST_AUTO_TEST_CASE(toml_array_of_tables_works_too) {
    const auto keys = parse_ok("[[signing_keys]]\nkey = \"a\"\nlabel = \"first\"\n\n"
                               "[[signing_keys]]\nkey = \"b\"\n")
                          .signing_keys;
    BOOST_TEST(labels(keys) == (Strings{"first", default_label("b")}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(toml_key_errors_name_the_line_and_never_the_key) {
    // clang-format off
    const std::vector<std::pair<std::string, std::string>> cases{
        {"signing_keys = [\n { key = \"k-secret\", not_after = 2027-01-01T00:00:00 }]",
         "test.toml:2: signing_keys: not_after has no UTC offset, so its instant is ambiguous"},
        {"signing_keys = [\n { key = \"k-secret\", not_after = \"2027-01-01T00:00:00\" }]",
         "test.toml:2: signing_keys: not_after has no UTC offset, so its instant is ambiguous"},
        {"signing_keys = [{ key = \"k-secret\", not_after = 2027-01-01 }]",
         "test.toml:1: signing_keys: not_after must be an offset date-time"},
        {"signing_keys = [{ key = \"k-secret\", not_after = \"tomorrow\" }]",
         "test.toml:1: signing_keys: not_after must be an RFC 3339 date-time with an offset"},
        {"signing_keys = [{ key = \"k-secret\", not_after = \"2027-02-29T00:00:00Z\" }]",
         "test.toml:1: signing_keys: not_after must be an RFC 3339 date-time with an offset"},
        {"signing_keys = [\n\n { key = \"k-secret\", lable = \"x\" }]",
         "test.toml:3: signing_keys: unknown key or wrong type in a key table: lable"},
        {"signing_keys = [{ key = \"k-secret\", label = 7 }]",
         "test.toml:1: signing_keys: unknown key or wrong type in a key table: label"},
        {"signing_keys = [{ key = \"k-secret\", label = \"has space\" }]",
         "test.toml:1: signing_keys: label must be 1 to 64 characters"},
        {"signing_keys = [{ key = \"k-secret\", label = \"\" }]",
         "test.toml:1: signing_keys: label must be 1 to 64 characters"},
        {"signing_keys = [{ label = \"x\" }]",
         "test.toml:1: signing_keys: a key is empty or missing"},
        {"signing_keys = [\"\"]", "test.toml:1: signing_keys: a key is empty or missing"},
        {"signing_keys = [[\"k-secret\"]]", "test.toml:1: signing_keys: items must be strings"},
    };
    // clang-format on
    for (const auto& [text, expected] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const std::string error = toml_error(text);
            BOOST_TEST(error.starts_with(expected), error);
            BOOST_TEST(!test::contains(error, "k-secret"));
        }
    }
}

BOOST_AUTO_TEST_CASE(key_file_entries) {
    const auto keys = file_keys("# rotation 2026\n\nold-key label=2026-q3 "
                                "not_after=2027-01-01T00:00:00Z\n  new-key\tlabel=2026-q4  \n\n"
                                "# spare\na,b label=bee\r\n"
                                "c not_after=2027-01-01T01:00:00+01:00 label=sea\n");
    BOOST_TEST(secrets(keys) == (Strings{"old-key", "new-key", "a", "b", "c"}),
               boost::test_tools::per_element());
    BOOST_TEST(labels(keys) == (Strings{"2026-q3", "2026-q4", default_label("a"), "bee", "sea"}),
               boost::test_tools::per_element());
    BOOST_TEST(*keys[0].not_after == new_year_2027);
    BOOST_TEST(not_after(keys[1]) == "none");
    BOOST_TEST(*keys[4].not_after == new_year_2027);
    for (std::string_view empty : {"", "\n\n", "# nothing here\n", "   \n", " , ,\n"}) {
        BOOST_TEST(file_error(empty) == "keys.txt: no signing key in the file");
    }
}

BOOST_AUTO_TEST_CASE(key_files_with_crlf_line_ends) {
    const auto keys = file_keys("key-one\r\n# c\r\nkey-two label=two\r\n");
    BOOST_TEST(secrets(keys) == (Strings{"key-one", "key-two"}), boost::test_tools::per_element());
    BOOST_TEST(keys[1].label == "two");
}

BOOST_AUTO_TEST_CASE(key_file_errors_name_the_line_and_never_the_key) {
    // clang-format off
    const std::vector<std::pair<std::string, std::string>> cases{
        {"sekrit-1 sekrit-2", "keys.txt:1: word 2 is neither label=NAME nor not_after=RFC3339"},
        {"ok\n\n# c\nsekrit-1 label=a sekrit-2", "keys.txt:4: word 3 is neither"},
        {"sekrit-1 sekrit=2", "keys.txt:1: word 2 is neither"},
        {"sekrit-1 label=", "keys.txt:1: label must be 1 to 64 characters"},
        {"sekrit-1 label=a\"b", "keys.txt:1: label must be 1 to 64 characters"},
        {"sekrit-1 label=a label=b", "keys.txt:1: label= given twice"},
        {"sekrit-1 not_after=2027-01-01T00:00:00Z not_after=2027-01-01T00:00:00Z",
         "keys.txt:1: not_after= given twice"},
        {"sekrit-1 not_after=2027-01-01T00:00:00", "keys.txt:1: not_after has no UTC offset"},
        {"sekrit-1 not_after=2027-13-01T00:00:00Z", "keys.txt:1: not_after must be an RFC 3339"},
        {"sekrit-1 not_after=2027-01-01", "keys.txt:1: not_after must be an RFC 3339"},
        {"label=x sekrit-1", "keys.txt:1: the key must come first"},
        {"a, not_after=2027-01-01T00:00:00Z", "keys.txt:1: the key must come first"},
    };
    // clang-format on
    for (const auto& [text, expected] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const std::string error = file_error(text);
            BOOST_TEST(error.starts_with(expected), error);
            BOOST_TEST(!test::contains(error, "sekrit"));
        }
    }
}

BOOST_AUTO_TEST_CASE(environment_entries_by_comma_or_newline) {
    auto c = cfg::apply_env(Config{}, env({{"LEADHOOK_SIGNING_KEYS",
                                            " a label=x,b not_after=2027-01-01T00:00:00Z\nc ,"}}));
    BOOST_TEST_REQUIRE(c.has_value(), test::error_text(c));
    BOOST_TEST(secrets(c->signing_keys) == (Strings{"a", "b", "c"}),
               boost::test_tools::per_element());
    BOOST_TEST(labels(c->signing_keys) == (Strings{"x", default_label("b"), default_label("c")}),
               boost::test_tools::per_element());
    BOOST_TEST(*c->signing_keys[1].not_after == new_year_2027);
    // Entries count across lines and commas; blank ones do not count.
    BOOST_TEST(keys_error("a,, b\nsekrit-1 sekrit-2") ==
               "LEADHOOK_SIGNING_KEYS: entry 3: word 2 is neither label=NAME nor "
               "not_after=RFC3339 (separate keys with commas or newlines)");
    BOOST_TEST(keys_error("sekrit-1 label=no/pe!") ==
               "LEADHOOK_SIGNING_KEYS: entry 1: label must be 1 to 64 characters of A-Z a-z 0-9 "
               ". _ : + / @ -");
}

BOOST_AUTO_TEST_CASE(duplicate_keys_and_labels_are_refused) {
    BOOST_TEST(validate_keys({{"sekrit", "one", {}}, {"other", "two", {}}}) == "<valid>");
    BOOST_TEST(validate_keys({{"sekrit", "one", {}}, {"other", "two", {}}, {"sekrit", "3", {}}}) ==
               "the same signing key is configured twice (labels one and 3)");
    BOOST_TEST(validate_keys({{"sekrit", "one", {}}, {"other", "one", {}}}) ==
               "two signing keys have the label one");
    BOOST_TEST(validate_keys({{"sekrit", "", {}}}) ==
               "signing key 1: label must be 1 to 64 characters of A-Z a-z 0-9 . _ : + / @ -");
    BOOST_TEST(validate_keys({{"a", "a", {}}, {"", "b", {}}}) == "signing key 2 is empty");
    // Across sources: the TOML file and the key file.
    test::TempFile key_file("sekrit\n");
    test::TempFile config_file("signing_keys = [\"sekrit\"]\nsigning_key_file = \"" +
                               key_file.path() + "\"\n");
    auto loaded = cfg::load_config(config_file.path(), env({}));
    BOOST_TEST_REQUIRE(!loaded.has_value());
    BOOST_TEST(loaded.error().message == "the same signing key is configured twice (labels " +
                                             default_label("sekrit") + " and " +
                                             default_label("sekrit") + ")");
}

BOOST_AUTO_TEST_CASE(key_warnings_name_expired_keys) {
    Config c;
    c.signing_keys = {{"a", "2026-q4", new_year_2027}, {"b", "next", std::nullopt}};
    BOOST_TEST(cfg::key_warnings(c, new_year_2027).empty());
    const auto after = cfg::key_warnings(c, new_year_2027 + hour);
    BOOST_TEST_REQUIRE(after.size() == 1u);
    BOOST_TEST(after[0] == "signing key 2026-q4 expired at 2027-01-01T00:00:00Z and verifies "
                           "nothing any more; remove it");
    c.signing_keys[1].not_after = new_year_2027 - hour;
    const auto all = cfg::key_warnings(c, new_year_2027 + hour);
    BOOST_TEST_REQUIRE(all.size() == 3u);
    BOOST_TEST(all[1] == "signing key next expired at 2026-12-31T23:00:00Z and verifies nothing "
                         "any more; remove it");
    BOOST_TEST(all[2] == "every signing key has expired: every webhook will be refused");
}

BOOST_AUTO_TEST_CASE(a_key_file_others_can_read_or_anyone_but_its_owner_write_is_refused) {
    namespace fs = std::filesystem;
    test::TempFile key_file("sekrit\n");
    const auto load = [&] {
        return cfg::load_config(std::nullopt,
                                env({{"LEADHOOK_SIGNING_KEY_FILE", key_file.path()}}));
    };
    const std::vector<std::pair<unsigned, std::string>> refused{
        {0644, "readable by other users"},
        {0604, "readable by other users"},
        {0602, "writable by other users"},
        {0620, "writable by its group"},
        {0666, "readable by other users and writable"}};
    for (const auto& [mode, what] : refused) {
        fs::permissions(key_file.path(), fs::perms(mode));
        const auto c = load();
        BOOST_TEST_REQUIRE(!c.has_value(), mode);
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", mode);
        BOOST_TEST(c.error().message ==
                   key_file.path() + ": the signing key file is " + what + " (mode " + octal +
                       "): fix it with chmod 0600 " + key_file.path() +
                       " (0640 if a group must read it), owned by the user leadhook runs as");
        BOOST_TEST(c.error().message.find("sekrit") == std::string::npos);
    }
    for (const unsigned mode : {0600u, 0640u, 0400u, 0601u}) { // others may not read or write
        fs::permissions(key_file.path(), fs::perms(mode));
        const auto c = load();
        BOOST_TEST(c.has_value(), mode << ": " << test::error_text(c));
        BOOST_TEST(c->warnings.empty());
    }
}

BOOST_AUTO_TEST_CASE(a_config_file_with_keys_that_others_can_read_is_warned_about) {
    namespace fs = std::filesystem;
    const auto load = [&](const std::string& config_path) {
        auto c = cfg::load_config(config_path, env({}));
        BOOST_TEST_REQUIRE(c.has_value(), test::error_text(c));
        return c->warnings;
    };
    test::TempFile keyed_config("signing_keys = [\"other\"]\n");
    fs::permissions(keyed_config.path(), fs::perms(0640));
    BOOST_TEST(load(keyed_config.path()).empty());
    const std::vector<std::pair<unsigned, std::string>> modes{{0644, "readable"},
                                                              {0602, "writable"},
                                                              {0666, "readable and writable"},
                                                              {0601, "accessible"}};
    for (const auto& [mode, what] : modes) {
        fs::permissions(keyed_config.path(), fs::perms(mode));
        const auto warnings = load(keyed_config.path());
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", mode);
        BOOST_TEST_REQUIRE(warnings.size() == 1u);
        BOOST_TEST(warnings[0] == keyed_config.path() + ": " + what + " by other users (mode " +
                                      octal + "); chmod 0600 it: it holds signing keys");
    }
    test::TempFile keyless_config("threads = 2\n");
    fs::permissions(keyless_config.path(), fs::perms(0644));
    auto c = cfg::load_config(keyless_config.path(), env({{"LEADHOOK_SIGNING_KEYS", "k"}}));
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->warnings.empty()); // no keys in it
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_config_keys
