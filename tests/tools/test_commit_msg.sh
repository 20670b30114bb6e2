#!/usr/bin/env bash
# The commit-msg hook (scripts/githooks/commit-msg) accepts what
# docs/development.md asks of a commit message and refuses the rest.
set -euo pipefail
HOOK="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)/scripts/githooks/commit-msg"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
failed=0
check() { # WANT(accept|refuse) MESSAGE
  printf '%s\n' "$2" >"$TMP/msg"
  if "$HOOK" "$TMP/msg" 2>/dev/null; then got=accept; else got=refuse; fi
  if [[ "$got" == "$1" ]]; then
    echo "ok   $1: ${2%%$'\n'*}"
  else
    echo "FAIL wanted $1, got $got: ${2%%$'\n'*}" >&2
    failed=$((failed + 1))
  fi
}
check accept "Fix the bounce column widths"
check accept $'Embed the migrations in the binary\n\nWhy, method and figures.'
check accept $'Add a test\n\n# a comment git drops\nThe body.'
check accept "Address the review of the edge"
check refuse "Fixed the bounce column widths"
check refuse "Adds a test"
check refuse "Updating the README"
check refuse "Fix the thing."
check refuse $'Fix the thing\nwith a body glued to it'
check refuse "$(printf 'word %.0s' {1..16})"
check refuse ""
if ((failed)); then
  echo "commit-msg hook: $failed checks failed" >&2
  exit 1
fi
echo "commit-msg hook: all checks passed"
