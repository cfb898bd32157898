#!/usr/bin/env bash
# verify-copyable.sh — the promise of DESIGN.md §4: every example folder,
# copied without its tests into a fresh module with only the same-module
# packages it imports (never testkit), builds after go mod tidy.
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# GOWORK=off and -mod=mod apply to the copies only: the repository's own
# go.mod files must not be touched.

n=0
for s in "${SECTIONS[@]}"; do
  mod=$(sed -n 's/^module //p' "$s/go.mod")
  while read -r ex; do
    n=$((n + 1))
    dst="$work/$ex"
    mkdir -p "$dst"
    # The example itself, without tests.
    find "$ex" -maxdepth 1 -type f ! -name '*_test.go' -exec cp {} "$dst/" \;
    # Same-module packages it imports (sqlc output, protobuf stubs), transitively.
    pkgs=$(cd "$s" && go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' "./${ex#"$s"/}" | grep "^$mod/" | grep -vx "$mod/${ex#"$s"/}" || true)
    for p in $pkgs; do
      rel=${p#"$mod"/}
      mkdir -p "$work/$s/$rel"
      find "$s/$rel" -maxdepth 1 -type f ! -name '*_test.go' -exec cp {} "$work/$s/$rel/" \;
    done
    if grep -rq 'part4-infrastructure/testkit' "$dst"; then
      echo "FAIL $ex: non-test code imports testkit" >&2
      exit 1
    fi
    (
      cd "$work/$s"
      rm -f go.mod go.sum
      export GOWORK=off GOFLAGS=-mod=mod
      go mod init "$mod" >/dev/null 2>&1
      go mod tidy >/dev/null 2>"$work/tidy.log" || { echo "FAIL $ex: go mod tidy" >&2; cat "$work/tidy.log" >&2; exit 1; }
      go build -o /dev/null "./${ex#"$s"/}" || { echo "FAIL $ex: go build in a fresh module" >&2; exit 1; }
    )
    echo "ok   $ex"
    rm -rf "${work:?}/$s"
  done < <(examples_of "$s")
done
if [[ $n -eq 0 ]]; then
  echo "verify-copyable: no examples yet — nothing to copy"
else
  echo "verify-copyable: $n examples build outside the repository"
fi
