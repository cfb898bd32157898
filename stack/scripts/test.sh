#!/usr/bin/env bash
# test.sh [--section N] — go test (with -race) every module, or section N only.
# INFRA_REQUIRED=1: a service that is down fails its tests instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh

if [[ ${1:-} == --section ]]; then
  dir=$(section_dir "${2:-}")
  mapfile -t pats < <(patterns_for "$dir")
  if [[ ${#pats[@]} -eq 0 ]]; then
    echo "$dir: no examples yet (planned, see $dir/README.md)"
    exit 0
  fi
else
  mapfile -t mods < <(go_modules)
  mapfile -t pats < <(patterns_for "${mods[@]}")
fi
export INFRA_REQUIRED=1
set -x
go test -race -count=1 ${GOTESTFLAGS:-} "${pats[@]}"
