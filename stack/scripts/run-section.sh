#!/usr/bin/env bash
# run-section.sh N — go run every example of section N in chapter order.
# An example folder may hold run.args: flags that make a long-running
# example (a server) do one pass and exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh
dir=$(section_dir "${1:-}")
mapfile -t examples < <(examples_of "$dir")
if [[ ${#examples[@]} -eq 0 ]]; then
  echo "$dir: no examples yet (planned, see $dir/README.md)"
  exit 0
fi
for ex in "${examples[@]}"; do
  args=()
  [[ -f $ex/run.args ]] && read -r -a args < "$ex/run.args"
  printf '\n=== %s %s\n' "$ex" "${args[*]}"
  go run "./$ex" "${args[@]}"
done
