#include "config/config.hpp"
#include "config_support.hpp"
#include "support.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

// Unity build (tests/CMakeLists.txt): every name of this file stays in it.
namespace unit_config {

// The suite's own namespace is called `config`, so the library's is aliased.
namespace cfg = leadhook::config;
namespace test = leadhook::test;
using cfg::Config;

namespace {

using namespace leadhook::test::config_support;

void check_defaults(const Config& c) {
    const Config d;
    BOOST_TEST(c.listen == "unix:/run/leadhook/leadhook.sock");
    BOOST_TEST(c.listen == d.listen);
    BOOST_TEST(c.socket_mode == 0660u);
    BOOST_TEST(c.threads == 32);
    BOOST_TEST(c.writers == 2);
    BOOST_TEST(c.batch_max_events == 256);
    BOOST_TEST(c.max_body_bytes == 26214400u);
    BOOST_TEST(c.database_url == "");
    BOOST_TEST(c.signing_keys.empty());
    BOOST_TEST(c.signing_key_file == "");
    BOOST_TEST(c.max_age_seconds == 86400);
    BOOST_TEST(c.max_future_skew_seconds == 300);
    BOOST_TEST(c.quarantine_max_per_hour == 1000);
    BOOST_TEST(c.quarantine_max_bytes_per_hour == 67108864);
    BOOST_TEST(c.max_fields == 1000u);
    BOOST_TEST(c.max_parts == 200u);
    BOOST_TEST(c.max_json_depth == 64u);
    BOOST_TEST(c.warnings.empty());
}

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    const Config c = parse_ok(R"(# a comment
listen = "127.0.0.1:9000"
socket_mode = "0600"
threads = 4
max_body_bytes = 1048576
database_url = "postgresql://leadhook@db/leadhook"
signing_keys = ["key-one", "key-two"]
signing_key_file = "/etc/leadhook/keys"
max_age_seconds = 3600
max_future_skew_seconds = 0
quarantine_max_per_hour = 0
quarantine_max_bytes_per_hour = 1024
max_fields = 150
max_parts = 20
max_json_depth = 20
)");
    BOOST_TEST(c.listen == "127.0.0.1:9000");
    BOOST_TEST(c.socket_mode == 0600u);
    BOOST_TEST(c.threads == 4);
    BOOST_TEST(c.max_body_bytes == 1048576u);
    BOOST_TEST(c.database_url == "postgresql://leadhook@db/leadhook");
    BOOST_TEST(secrets(c.signing_keys) == (Strings{"key-one", "key-two"}),
               boost::test_tools::per_element());
    BOOST_TEST(c.signing_key_file == "/etc/leadhook/keys");
    BOOST_TEST(c.max_age_seconds == 3600);
    BOOST_TEST(c.max_future_skew_seconds == 0);
    BOOST_TEST(c.quarantine_max_per_hour == 0);
    BOOST_TEST(c.quarantine_max_bytes_per_hour == 1024);
    BOOST_TEST(c.max_fields == 150u);
    BOOST_TEST(c.max_parts == 20u);
    BOOST_TEST(c.max_json_depth == 20u);
}

BOOST_AUTO_TEST_CASE(the_shipped_example_parses_to_the_defaults) {
    const auto example = test::corpus_dir() / "../../../deploy/leadhook.toml.example";
    check_defaults(parse_ok(test::read_file(example)));
}

BOOST_AUTO_TEST_CASE(empty_text_gives_the_defaults) {
    check_defaults(parse_ok(""));
    check_defaults(parse_ok("# only a comment\n\n"));
}

BOOST_AUTO_TEST_CASE(unknown_key_names_the_file_and_line) {
    BOOST_TEST(toml_error("threads = 2\n\nthreds = 4\n") ==
               "test.toml:3: unknown key or wrong type: threds");
    // A table is not a key we know either.
    BOOST_TEST(test::contains(toml_error("[server]\nlisten = \"a:1\"\n"), "test.toml:1: "));
}

BOOST_AUTO_TEST_CASE(wrong_types_are_refused) {
    BOOST_TEST(toml_error("threads = \"four\"") ==
               "test.toml:1: unknown key or wrong type: threads");
    BOOST_TEST(toml_error("\nlisten = 9000") == "test.toml:2: unknown key or wrong type: listen");
    BOOST_TEST(toml_error("socket_mode = 0o660") ==
               "test.toml:1: unknown key or wrong type: socket_mode");
    BOOST_TEST(toml_error("signing_keys = \"one\"") ==
               "test.toml:1: unknown key or wrong type: signing_keys");
    BOOST_TEST(test::contains(toml_error("signing_keys = [\"a\",\n  2]"),
                              "test.toml:2: signing_keys: items must be strings or tables"));
    BOOST_TEST(toml_error("max_parts = 2.5") ==
               "test.toml:1: unknown key or wrong type: max_parts");
}

BOOST_AUTO_TEST_CASE(socket_mode_must_be_octal_text) {
    BOOST_TEST(parse_ok("socket_mode = \"0666\"").socket_mode == 0666u);
    BOOST_TEST(parse_ok("socket_mode = \"660\"").socket_mode == 0660u);
    // "100000000660" is 0660 once cut to 32 bits: refused before any cast.
    for (std::string_view bad :
         {"0999", "rw-rw----", "", "0660 ", "0x1b6", "1000", "100000000660", "-1"}) {
        BOOST_TEST_CONTEXT(bad) {
            BOOST_TEST(toml_error("socket_mode = \"" + std::string(bad) + "\"") ==
                       "test.toml:1: socket_mode must be an octal string such as \"0660\"");
        }
    }
}

BOOST_AUTO_TEST_CASE(toml_syntax_errors_carry_the_line) {
    BOOST_TEST(test::contains(toml_error("threads = 2\nlisten = \n"), "test.toml:2: "));
    BOOST_TEST(test::contains(toml_error("threads = 2\nthreads = 3\n"), "test.toml:2: "));
    BOOST_TEST(test::contains(toml_error("\n\nlisten = \"unterminated\n"), "test.toml:3: "));
}

BOOST_AUTO_TEST_CASE(environment_overrides) {
    auto c = cfg::apply_env(parse_ok("threads = 2\nlisten = \"a:1\"\nsigning_keys = [\"file\"]"),
                            env({{"LEADHOOK_LISTEN", "unix:/tmp/x.sock"},
                                 {"LEADHOOK_DATABASE_URL", "postgresql:///lh"},
                                 {"LEADHOOK_SIGNING_KEYS", " k1 , k2,,\tk3 ,"},
                                 {"LEADHOOK_SIGNING_KEY_FILE", "/run/keys"},
                                 {"LEADHOOK_THREADS", "16"},
                                 {"LEADHOOK_WRITERS", "3"},
                                 {"LEADHOOK_BATCH_MAX_EVENTS", "64"},
                                 {"LEADHOOK_MAX_BODY_BYTES", "2048"},
                                 {"LEADHOOK_SOCKET_MODE", "0640"},
                                 {"LEADHOOK_MAX_AGE_SECONDS", "600"},
                                 {"LEADHOOK_MAX_FUTURE_SKEW_SECONDS", "60"},
                                 {"LEADHOOK_QUARANTINE_MAX_PER_HOUR", "0"},
                                 {"LEADHOOK_QUARANTINE_MAX_BYTES_PER_HOUR", "4096"},
                                 {"LEADHOOK_MAX_FIELDS", "300"},
                                 {"LEADHOOK_MAX_PARTS", "30"},
                                 {"LEADHOOK_MAX_JSON_DEPTH", "16"}}));
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->listen == "unix:/tmp/x.sock");
    BOOST_TEST(c->database_url == "postgresql:///lh");
    BOOST_TEST(secrets(c->signing_keys) == (Strings{"k1", "k2", "k3"}),
               boost::test_tools::per_element());
    BOOST_TEST(c->signing_key_file == "/run/keys");
    BOOST_TEST(c->threads == 16);
    BOOST_TEST(c->writers == 3);
    BOOST_TEST(c->batch_max_events == 64);
    BOOST_TEST(c->max_body_bytes == 2048u);
    BOOST_TEST(c->socket_mode == 0640u);
    BOOST_TEST(c->max_age_seconds == 600);
    BOOST_TEST(c->max_future_skew_seconds == 60);
    BOOST_TEST(c->quarantine_max_per_hour == 0);
    BOOST_TEST(c->quarantine_max_bytes_per_hour == 4096);
    BOOST_TEST(c->max_fields == 300u);
    BOOST_TEST(c->max_parts == 30u);
    BOOST_TEST(c->max_json_depth == 16u);
}

BOOST_AUTO_TEST_CASE(an_empty_environment_changes_nothing) {
    auto c = cfg::apply_env(parse_ok("threads = 3"), env({}));
    BOOST_TEST_REQUIRE(c.has_value());
    BOOST_TEST(c->threads == 3);
    BOOST_TEST(c->listen == Config{}.listen);
}

BOOST_AUTO_TEST_CASE(bad_environment_values_name_the_variable) {
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", "eight"}}) ==
               "LEADHOOK_THREADS: not a number: eight");
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", "8 "}}) == "LEADHOOK_THREADS: not a number: 8 ");
    BOOST_TEST(env_error({{"LEADHOOK_THREADS", ""}}) == "LEADHOOK_THREADS: not a number: ");
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_MAX_BODY_BYTES", "-1"}}), "LEADHOOK_MAX_BODY_BYTES"));
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_MAX_BODY_BYTES", "1M"}}), "LEADHOOK_MAX_BODY_BYTES"));
    BOOST_TEST(
        test::contains(env_error({{"LEADHOOK_SOCKET_MODE", "0968"}}), "LEADHOOK_SOCKET_MODE"));
    BOOST_TEST(test::contains(env_error({{"LEADHOOK_SOCKET_MODE", "100000000660"}}),
                              "LEADHOOK_SOCKET_MODE: not an octal mode"));
}

BOOST_AUTO_TEST_CASE(validation) {
    BOOST_TEST(validate_text(with_key()) == "<valid>");
    BOOST_TEST(test::contains(validate_text(Config{}), "LEADHOOK_SIGNING_KEYS"));
    Config c = with_key();
    for (std::string listen : {"127.0.0.1:9000", "unix:/run/x.sock", "[::1]:9000"}) {
        c.listen = listen;
        BOOST_TEST(validate_text(c) == "<valid>", listen);
    }
    for (std::string listen : {"", "localhost", "unix:relative.sock", "/run/x.sock"}) {
        c.listen = listen;
        BOOST_TEST(test::contains(validate_text(c), "listen"), listen);
    }
    c = with_key();
    c.threads = 0;
    BOOST_TEST(test::contains(validate_text(c), "threads"));
    c.threads = 1025;
    BOOST_TEST(test::contains(validate_text(c), "threads"));
    c = with_key();
    c.max_body_bytes = 100;
    BOOST_TEST(test::contains(validate_text(c), "max_body_bytes"));
    c = with_key();
    c.socket_mode = 01000;
    BOOST_TEST(test::contains(validate_text(c), "socket_mode"));
}

BOOST_AUTO_TEST_CASE(load_config_reads_the_file_env_and_key_file) {
    test::TempFile key_file("# keys\nfile-key-1\nfile-key-2\n");
    test::TempFile config_file("threads = 2\nsigning_keys = [\"toml-key\"]\nsigning_key_file = \"" +
                               key_file.path() + "\"\n");
    auto c = cfg::load_config(config_file.path(), env({{"LEADHOOK_THREADS", "5"}}));
    BOOST_TEST_REQUIRE(c.has_value(), test::error_text(c));
    BOOST_TEST(c->threads == 5);
    BOOST_TEST(secrets(c->signing_keys) == (Strings{"toml-key", "file-key-1", "file-key-2"}),
               boost::test_tools::per_element());
    BOOST_TEST(c->warnings.empty()); // mkstemp makes files 0600
    // Without a file, the environment alone.
    auto env_only = cfg::load_config(std::nullopt, env({{"LEADHOOK_SIGNING_KEYS", "e"}}));
    BOOST_TEST_REQUIRE(env_only.has_value());
    BOOST_TEST(secrets(env_only->signing_keys) == Strings{"e"}, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(load_config_errors) {
    auto missing = cfg::load_config(std::string("/nonexistent/leadhook.toml"), env({}));
    BOOST_TEST_REQUIRE(!missing.has_value());
    BOOST_TEST(test::contains(missing.error().message, "/nonexistent/leadhook.toml"));
    auto no_keys = cfg::load_config(std::nullopt, env({}));
    BOOST_TEST_REQUIRE(!no_keys.has_value());
    BOOST_TEST(test::contains(no_keys.error().message, "LEADHOOK_SIGNING_KEYS"));
    auto bad_key_file =
        cfg::load_config(std::nullopt, env({{"LEADHOOK_SIGNING_KEY_FILE", "/nonexistent/keys"}}));
    BOOST_TEST_REQUIRE(!bad_key_file.has_value());
    BOOST_TEST(test::contains(bad_key_file.error().message, "/nonexistent/keys"));
    test::TempFile bad_toml("listen = 1\n");
    auto wrong = cfg::load_config(bad_toml.path(), env({}));
    BOOST_TEST_REQUIRE(!wrong.has_value());
    BOOST_TEST(test::contains(wrong.error().message, bad_toml.path() + ":1:"));
}

BOOST_AUTO_TEST_CASE(describe_never_shows_a_key_or_the_database_url) {
    Config c = with_key();
    c.signing_keys = {{"super-secret-signing-key", "sha256:1a2b3c4d", std::nullopt},
                      {"another-secret", "2026-q3", 1798675200000000}};
    c.database_url = "postgresql://user:hunter2@db/leadhook";
    const std::string line = cfg::describe(c);
    BOOST_TEST(!test::contains(line, "super-secret"));
    BOOST_TEST(!test::contains(line, "another-secret"));
    BOOST_TEST(!test::contains(line, "hunter2"));
    BOOST_TEST(
        test::contains(line, "signing_keys=[sha256:1a2b3c4d, 2026-q3 until 2026-12-31T00:00:00Z]"));
    BOOST_TEST(test::contains(line, "socket_mode=0660"));
    BOOST_TEST(test::contains(line, "listen=unix:/run/leadhook/leadhook.sock"));
    BOOST_TEST(test::contains(line, "threads=32"));
    BOOST_TEST(test::contains(line, "writers=2"));
    BOOST_TEST(test::contains(line, "batch_max_events=256"));
    BOOST_TEST(test::contains(line, "database=(set)"));
    for (std::string_view setting :
         {"max_body_bytes=26214400", "max_age_seconds=86400", "max_future_skew_seconds=300",
          "quarantine_max_per_hour=1000", "quarantine_max_bytes_per_hour=67108864",
          "max_fields=1000", "max_parts=200", "max_json_depth=64"}) {
        BOOST_TEST(test::contains(line, setting), setting);
    }
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace unit_config
