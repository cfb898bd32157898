#!/usr/bin/env bash
# tidy.sh — go mod tidy in every module and in the tools module, each on its
# own (GOWORK=off). No go work sync: it would push workspace-wide versions into every go.mod.
set -euo pipefail
cd "$(dirname "$0")/../.."
. stack/scripts/lib.sh
while IFS= read -r m; do
  echo "tidy $m"
  (cd "$m" && GOWORK=off go mod tidy)
done < <(go_modules)
for t in stack/tools stack/tools/actionlint; do
  echo "tidy $t"
  (cd "$t" && GOWORK=off go mod tidy)
done
