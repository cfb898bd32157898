#!/usr/bin/env bash
# lint.sh — gofmt, go vet and golangci-lint (pinned in stack/tools) over
# every module; then each section's own lint hook (sqlc vet, buf lint) when
# it has one: NN-section/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh
mapfile -t mods < <(go_modules)
mapfile -t pats < <(patterns_for "${mods[@]}")

echo "gofmt"
unformatted=$(git ls-files -co --exclude-standard -- '*.go' | xargs -r gofmt -l)
if [[ -n $unformatted ]]; then
  echo "not gofmt-ed (run gofmt -w):" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "go vet"
go vet "${pats[@]}"

# Every module and section hook runs; the failures are summed up at the end.
failed=()
echo "golangci-lint"
for m in "${mods[@]}"; do
  [[ -n $(patterns_for "$m") ]] || continue
  (cd "$m" && "$OLDPWD/.stack/bin/golangci-lint" run --allow-parallel-runners ./...) || failed+=("golangci-lint in $m")
done

for s in "${SECTIONS[@]}"; do
  if [[ -x $s/lint.sh ]]; then
    echo "$s/lint.sh"
    "$s/lint.sh" || failed+=("$s/lint.sh")
  fi
done
if ((${#failed[@]})); then
  printf 'lint failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint: ok"
