#!/usr/bin/env python3
"""The include rule of docs/architecture.md: every #include "dir/file.hpp" in
src/ goes from a folder to one it may use. Prints each include across a
forbidden edge, with the rule it breaks, and fails if there is one.

    python3 tests/tools/test_layers.py
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src")

# What each folder of src/ may include besides itself. Lower layers first;
# docs/architecture.md draws the same graph.
MAY_INCLUDE = {
    "util": set(),
    "body": {"util"},
    "http": {"util"},
    "mailgun": {"body", "util"},
    "domain": {"mailgun", "util"},  # the rules of a lead's state, freshness, retention
    "obs": {"util"},
    "config": {"body", "mailgun", "util"},
    "report": {"util"},
    "capture": {"http", "obs", "util"},
    "storage": {"domain", "mailgun", "report", "util"},
    "net": {"util"},  # HTTP for Mailgun's API: the interface, retries, libcurl
    "fcgi": {"body", "http", "obs", "util"},
    "app": {"body", "capture", "config", "domain", "http", "mailgun", "net", "obs", "storage",
            "util"},
    "devtools": {"app", "body", "mailgun", "util"},
    "cli": {"app", "body", "capture", "config", "devtools", "domain", "fcgi", "http", "mailgun",
            "net", "obs", "report", "storage", "util"},
    ".": {"cli"},  # main.cpp
}

# Finer rules within an allowed edge: (from folder, to folder) -> the only
# headers it may include there.
ONLY = {
    # The use cases reach storage through its interfaces, never libpq's side.
    ("app", "storage"): {"storage/event_store.hpp", "storage/quarantine.hpp",
                         "storage/backfill_store.hpp"},
    # ... and HTTP through its interface and retry rules, never libcurl's side.
    ("app", "net"): {"net/http.hpp", "net/retry.hpp"},
    # The edge needs the media type to pick a body's limit, nothing else.
    ("fcgi", "body"): {"body/media_type.hpp"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"(([a-z_]+)/[^"]+)"', re.M)


def violations():
    found = []
    for root, _, files in os.walk(SRC):
        for name in sorted(files):
            if not name.endswith((".cpp", ".hpp")):
                continue
            path = os.path.join(root, name)
            folder = os.path.relpath(root, SRC).split(os.sep)[0]
            if folder not in MAY_INCLUDE:
                found.append("%s: folder %s/ is not in the layer table (tests/tools/"
                             "test_layers.py, docs/architecture.md)" % (
                                 os.path.relpath(path, SRC), folder))
                continue
            with open(path) as f:
                text = f.read()
            for header, target in INCLUDE.findall(text):
                if target == folder:
                    continue
                where = os.path.relpath(path, SRC)
                if target not in MAY_INCLUDE[folder]:
                    found.append("%s includes %s: %s/ may not include %s/" % (
                        where, header, folder, target))
                elif (folder, target) in ONLY and header not in ONLY[(folder, target)]:
                    found.append("%s includes %s: %s/ may include only %s from %s/" % (
                        where, header, folder, ", ".join(sorted(ONLY[(folder, target)])), target))
    return found


def main():
    found = violations()
    for line in found:
        print("FAIL " + line)
    if found:
        print("layers: %d includes cross a forbidden edge (docs/architecture.md)" % len(found))
        return 1
    print("layers: every include in src/ follows the rule")
    return 0


if __name__ == "__main__":
    sys.exit(main())
