#!/usr/bin/env bash
# generate.sh [--verify] — run go generate in every module with the pinned
# tools first on PATH. With --verify, fail when the generated files differ
# from what is committed (make verify-generated).
set -euo pipefail
cd "$(dirname "$0")/../.."
. stack/scripts/lib.sh
export PATH="$PWD/.stack/bin:$PATH"
pats=()
while IFS= read -r m; do
  while IFS= read -r p; do pats+=("$p"); done < <(patterns_for "$m")
done < <(go_modules)
# The tree's state: which files differ and how (so a tree with unrelated
# uncommitted edits can still be verified). go.work.sum is rewritten by any
# go command in the workspace: it is not code.
status() {
  git status --porcelain -- . ':!go.work.sum'
  git diff -- . ':!go.work.sum' | git hash-object --stdin
  git ls-files -o --exclude-standard -z | xargs -0 git hash-object --
}
before=
if [ "${1:-}" = --verify ]; then
  before=$(status)
fi
if [ -n "$(git grep -l '^//go:generate' -- '*.go')" ]; then
  go generate "${pats[@]}"
else
  echo "generate: no go:generate directives yet"
fi
if [ "${1:-}" = --verify ]; then
  after=$(status)
  if [ "$before" != "$after" ]; then
    echo "generated files differ from the committed ones — run make generate and commit:" >&2
    git status --short -- . ':!go.work.sum' >&2
    git diff --stat -- . ':!go.work.sum' >&2
    exit 1
  fi
  echo "verify-generated: ok"
fi
