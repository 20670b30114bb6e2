#!/usr/bin/env python3
"""Integration: `leadhook check-config` with the real binary. It validates,
prints the effective configuration with secrets redacted, and applies the
file, then LEADHOOK_* variables, then flags. No server is started."""
import os
import subprocess
import tempfile
import unittest

REPO = os.environ.get("LEADHOOK_REPO") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("LEADHOOK_BIN", os.path.join(REPO, "build", "src", "leadhook"))
KEY = "key-check-config-secret-0123456789"
PASSWORD = "pw-never-printed"


def run(*args, env=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}
    base.update(env or {})
    return subprocess.run([BINARY, "check-config"] + list(args), capture_output=True, text=True,
                          env=base, timeout=30)


def settings(stdout):
    return dict(line.split(" = ", 1) for line in stdout.splitlines() if " = " in line)


class CheckConfigTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.toml = os.path.join(self.dir.name, "leadhook.toml")
        with open(self.toml, "w") as f:
            f.write('threads = 3\nmax_age_seconds = 3600\n'
                    'database_url = "postgresql://lh:%s@db.example/leadhook"\n'
                    'signing_keys = [{ key = "%s", label = "primary" }]\n' % (PASSWORD, KEY))
        os.chmod(self.toml, 0o600)

    def tearDown(self):
        self.dir.cleanup()

    def test_prints_the_effective_configuration_without_secrets(self):
        result = run("--config", self.toml)
        self.assertEqual(result.returncode, 0, result.stderr)
        got = settings(result.stdout)
        self.assertEqual(got["threads"], "3")
        self.assertEqual(got["max_age_seconds"], "3600")
        self.assertEqual(got["max_json_depth"], "64")  # a default
        self.assertEqual(got["signing_keys"], "[primary]")
        self.assertIn("password=(redacted)", got["database_url"])
        self.assertIn("host=db.example", got["database_url"])
        for secret in (KEY, PASSWORD):
            self.assertNotIn(secret, result.stdout + result.stderr)
        self.assertIn("configuration is valid", result.stderr)

    def test_environment_overrides_the_file_and_flags_override_both(self):
        env = {"LEADHOOK_THREADS": "5", "LEADHOOK_LISTEN": "127.0.0.1:9000"}
        got = settings(run("--config", self.toml, env=env).stdout)
        self.assertEqual((got["threads"], got["listen"]), ("5", "127.0.0.1:9000"))
        got = settings(run("--config", self.toml, "--threads", "7", env=env).stdout)
        self.assertEqual((got["threads"], got["listen"]), ("7", "127.0.0.1:9000"))

    def test_errors_name_the_file_and_line_and_exit_2(self):
        with open(self.toml, "a") as f:
            f.write("treads = 4\n")
        result = run("--config", self.toml)
        self.assertEqual(result.returncode, 2)
        self.assertIn("%s:5:" % self.toml, result.stderr)
        self.assertIn("treads", result.stderr)
        self.assertNotIn(KEY, result.stderr)
        bad_flag = run("--config", self.toml.replace(".toml", "-missing.toml"))
        self.assertNotEqual(bad_flag.returncode, 0)

    def test_a_key_file_others_can_read_is_refused_with_the_fix(self):
        key_file = os.path.join(self.dir.name, "keys")
        with open(key_file, "w") as f:
            f.write(KEY + " label=filed\n")
        os.chmod(key_file, 0o644)
        result = run("--signing-key-file", key_file)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("the signing key file is readable by other users (mode 0644): fix it with"
                      " chmod 0600 " + key_file, result.stderr)
        self.assertNotIn(KEY, result.stdout + result.stderr)
        os.chmod(key_file, 0o600)
        result = run("--signing-key-file", key_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(settings(result.stdout)["signing_keys"], "[filed]")


if __name__ == "__main__":
    unittest.main(verbosity=2)
