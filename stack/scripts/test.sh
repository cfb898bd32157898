#!/usr/bin/env bash
# test.sh [--section N | --unit] — go test (with -race) every module, or
# section N only; --unit runs the tests that need no stack (-short).
# INFRA_REQUIRED=1: a service that is down fails its tests instead of
# skipping. TEST_TIMEOUT bounds each test binary, so a hung test fails with
# its name and a stack dump instead of eating the CI budget.
set -euo pipefail
cd "$(dirname "$0")/../.."
. stack/scripts/lib.sh

pats=()
flags=(-race -count=1 -timeout "${TEST_TIMEOUT:-10m}")
case ${1:-} in
  --section)
    dir=$(section_dir "${2:-}")
    while IFS= read -r p; do pats+=("$p"); done < <(patterns_for "$dir")
    if [ ${#pats[@]} -eq 0 ]; then
      echo "$dir: no examples yet (planned, see $dir/README.md)"
      exit 0
    fi
    ;;
  --unit)
    flags=(-short -count=1 -timeout "${TEST_TIMEOUT:-5m}")
    ;;
esac
if [ ${#pats[@]} -eq 0 ]; then
  while IFS= read -r m; do
    while IFS= read -r p; do pats+=("$p"); done < <(patterns_for "$m")
  done < <(go_modules)
fi
export INFRA_REQUIRED=1
# The pinned tools (make test built them) come first for any test that
# runs one by name.
export PATH="$PWD/.stack/bin:$PATH"
set -x
# GOTESTFLAGS is split on blanks on purpose (e.g. GOTESTFLAGS='-run Foo -v').
# shellcheck disable=SC2086
go test "${flags[@]}" ${GOTESTFLAGS:-} "${pats[@]}"
