#!/usr/bin/env bash
# generate.sh [--verify] — run go generate in every module with the pinned
# tools first on PATH. With --verify, fail when the generated files differ
# from what is committed (make verify-generated).
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh
export PATH="$PWD/.stack/bin:$PATH"
mapfile -t mods < <(go_modules)
mapfile -t pats < <(patterns_for "${mods[@]}")
if [[ ${1:-} == --verify ]]; then
  before=$(git status --porcelain)
fi
if [[ -n $(git grep -l '^//go:generate' -- '*.go') ]]; then
  go generate "${pats[@]}"
else
  echo "generate: no go:generate directives yet"
fi
if [[ ${1:-} == --verify ]]; then
  after=$(git status --porcelain)
  if [[ $before != "$after" ]] || ! git diff --quiet; then
    echo "generated files differ from the committed ones — run make generate and commit:" >&2
    git status --short >&2
    git diff --stat >&2
    exit 1
  fi
  echo "verify-generated: ok"
fi
