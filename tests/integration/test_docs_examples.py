#!/usr/bin/env python3
"""Integration: the examples of README.md and docs/*.md run as printed.

Every ```sh block is a command a developer types at the repository root
while ./scripts/run serves in another terminal (blocks marked ```sh server
are for an installed leadhook and are not run here). So this test does
exactly that, in a copy of the repository root that is its own: every
top-level entry is a symlink to the real one, except var/ (the dev stack,
its signing key, the files examples write) and build/ (the build under
test). It starts ./scripts/run there, runs each block with bash -euo
pipefail in document order, and stops ./scripts/run with SIGTERM as Ctrl-C
would. A block passes when it exits 0 and prints no `HTTP 4xx/5xx` answer.

Blocks another test already runs as printed are listed in COVERED_ELSEWHERE
with that test's name; the list fails when one of them is gone from its page.
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from stack import REPO, STACK, free_port  # noqa: E402

PAGES = ["README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir(os.path.join(REPO, "docs"))
    if name.endswith(".md"))

# (page, first line of the block): why it does not run here.
COVERED_ELSEWHERE = {
    ("README.md", "./scripts/run     # install what is missing, build, start PostgreSQL + "
     "leadhook + nginx, serve until Ctrl-C"):
        "the quickstart: this test runs ./scripts/run, and CI runs ./scripts/test",
    ("docs/reliability.md", "python3 tests/integration/test_edge_limits.py -v"):
        "integration.edge_limits runs it",
    ("docs/systemd.md", "./scripts/systemd-test             # as root; last line: systemd: "
     "checks=17 failed=0"):
        "systemd.real runs it",
    ("docs/ha.md", "./scripts/ha-test"):
        "integration.ha runs it (with --events 400)",
}
# Pages whose every ```sh block another test runs as printed.
PAGES_COVERED_ELSEWHERE = {
    "docs/migrating.md": "integration.from_mysql runs each step against a throwaway MariaDB",
}
FAILED_ANSWER = re.compile(r"^HTTP [45]\d\d\b", re.M)


def sh_blocks(page):
    """[(line number, first line, text)] of the ```sh blocks of a page
    (indented ones too), not the ```sh server ones."""
    blocks, inside, lines = [], False, None
    with open(os.path.join(REPO, page)) as f:
        for number, line in enumerate(f, 1):
            fence = re.match(r"^(\s*)```(.*)$", line.rstrip("\n"))
            if not inside and fence:
                inside, indent, start = True, fence.group(1), number
                lines = [] if fence.group(2).strip() == "sh" else None
            elif inside and fence and fence.group(1) == indent:
                if lines:
                    blocks.append((start, lines[0].rstrip("\n"), "".join(lines)))
                inside = False
            elif inside and lines is not None:
                lines.append(line[len(indent):] if line.startswith(indent) else line)
    return blocks


def shadow_root(build_dir):
    """A directory that looks like the repository root to the scripts: the
    real top-level entries as symlinks, its own var/ and build/."""
    root = tempfile.mkdtemp(prefix="leadhook-docs-")
    try:
        for name in os.listdir(REPO):
            if name in ("var", ".git") or name.startswith("build"):
                continue
            os.symlink(os.path.join(REPO, name), os.path.join(root, name))
        os.symlink(build_dir, os.path.join(root, "build"))
        os.mkdir(os.path.join(root, "var"))
        # An example enables the repository's commit hook: in a repository
        # of the copy's own, never the real one's.
        subprocess.run(["git", "init", "-q", root], check=True)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return root


def developer_environment():
    """The environment of a developer's shell: none of the LEADHOOK_*
    variables ctest sets, so the scripts find everything by themselves."""
    return {k: v for k, v in os.environ.items() if not k.startswith("LEADHOOK_")}


class DocsExamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("LEADHOOK_BIN") or os.path.join(REPO, "build", "src", "leadhook")
        cls.root = shadow_root(os.path.dirname(os.path.dirname(os.path.abspath(binary))))
        cls.env = developer_environment()
        cls.port = free_port()
        cls.run_log = open(os.path.join(cls.root, "var", "run.log"), "w+")
        cls.server = subprocess.Popen(
            ["./scripts/run"], cwd=cls.root, stdout=cls.run_log, stderr=subprocess.STDOUT,
            env=dict(cls.env, LEADHOOK_HTTP_PORT=str(cls.port)), start_new_session=True)
        cls.wait_for_run("leadhook is serving on", 300)

    @classmethod
    def wait_for_run(cls, text, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with open(cls.run_log.name) as f:
                if text in f.read():
                    return
            if cls.server.poll() is not None:
                break
            time.sleep(0.2)
        with open(cls.run_log.name) as f:
            log = f.read()
        cls.tearDownClass()
        raise RuntimeError("./scripts/run did not print %r:\n%s" % (text, log[-4000:]))

    @classmethod
    def tearDownClass(cls):
        if cls.server.poll() is None:
            cls.server.send_signal(signal.SIGTERM)  # what Ctrl-C leads to
            try:
                cls.server.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(cls.server.pid, signal.SIGKILL)
                cls.server.wait()
        subprocess.run([STACK, "stop", "--dir", os.path.join(cls.root, "var", "dev")],
                       capture_output=True, env=cls.env)
        cls.run_log.close()
        shutil.rmtree(cls.root, ignore_errors=True)

    def run_block(self, page, line, text):
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", text], cwd=self.root,
                                env=self.env, capture_output=True, text=True, timeout=300)
        output = result.stdout + result.stderr
        print("--- %s:%d (exit %d)\n%s" % (page, line, result.returncode, output[-3000:]),
              flush=True)
        self.assertEqual(result.returncode, 0, "%s:%d failed:\n%s" % (page, line, output))
        self.assertIsNone(FAILED_ANSWER.search(output),
                          "%s:%d got a refusal:\n%s" % (page, line, output))

    def test_every_sh_block_runs_as_printed_against_scripts_run(self):
        ran = 0
        for page in PAGES:
            if page in PAGES_COVERED_ELSEWHERE:
                continue
            for line, first, text in sh_blocks(page):
                if (page, first) in COVERED_ELSEWHERE:
                    continue
                with self.subTest(page=page, line=line):
                    self.run_block(page, line, text)
                ran += 1
        self.assertGreaterEqual(ran, 6, "the docs lost their examples")
        # What the examples did is visible in the dev stack's database.
        opens = subprocess.run(
            ["./scripts/leadhook", "psql", "-XAtc",
             "SELECT followup_email_opens FROM leads WHERE email_addr = 'lead@example.com'"],
            cwd=self.root, env=self.env, capture_output=True, text=True, check=True).stdout
        self.assertGreaterEqual(int(opens), 1)
        self.assertTrue(os.path.getsize(os.path.join(self.root, "var", "report.html")) > 0)
        hooks = subprocess.run(["git", "config", "core.hooksPath"], cwd=self.root,
                               capture_output=True, text=True).stdout.strip()
        self.assertEqual(hooks, "scripts/githooks")

    def test_blocks_covered_elsewhere_are_still_there(self):
        for page, first in COVERED_ELSEWHERE:
            with self.subTest(page=page):
                self.assertIn(first, [b[1] for b in sh_blocks(page)])
        for page in PAGES_COVERED_ELSEWHERE:
            self.assertTrue(sh_blocks(page), page)


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces
    to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


class DocsLinks(unittest.TestCase):
    def test_every_relative_link_names_a_file_and_heading_that_exist(self):
        for page in PAGES:
            text = open(os.path.join(REPO, page)).read()
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                with self.subTest(page=page, link=target):
                    full = os.path.normpath(os.path.join(REPO, os.path.dirname(page), path)
                                            if path else os.path.join(REPO, page))
                    self.assertTrue(os.path.exists(full), full)
                    if anchor:
                        headings = re.findall(r"^#+ (.*)$", open(full).read(), re.M)
                        self.assertIn(anchor, [slug(h) for h in headings])


if __name__ == "__main__":
    unittest.main(verbosity=2)
