#!/usr/bin/env bash
# lint.sh — the tracked files (no binaries, nothing over 1 MiB unless
# allowed), shellcheck over every shell script, actionlint over the GitHub
# workflows, gofmt, go vet and golangci-lint (pinned in stack/tools) over
# every module; then each section's own lint hook (sqlc vet, buf lint)
# when it has one: NN-section/lint.sh. Every step runs; the failures are
# summed up at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
. stack/scripts/lib.sh
bin=$PWD/.stack/bin
failed=()
fail() { failed+=("$1"); }

echo "tracked files"
"$bin/stack" check-tree || fail "tracked files"

# Shell scripts: *.sh and every tracked file whose first line names a shell.
echo "shellcheck"
scripts=()
while IFS= read -r f; do
  case $f in
    *.sh) scripts+=("$f") ;;
    *)
      if [ -f "$f" ] && head -n 1 "$f" | grep -Eq '^#!.*[/ ](ba|da|k)?sh([[:space:]]|$)'; then
        scripts+=("$f")
      fi
      ;;
  esac
done < <(git ls-files -co --exclude-standard)
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck not found: apt-get install shellcheck (make tools does it on Debian as root), or brew install shellcheck" >&2
  fail shellcheck
elif [ ${#scripts[@]} -gt 0 ]; then
  shellcheck -x "${scripts[@]}" || fail shellcheck
fi

echo "actionlint"
if [ -d .github/workflows ]; then
  "$bin/actionlint" || fail actionlint
fi

echo "gofmt"
unformatted=$(git ls-files -z -co --exclude-standard -- '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "not gofmt-ed (run gofmt -w):" >&2
  echo "$unformatted" >&2
  fail gofmt
fi

mods=()
while IFS= read -r m; do
  if [ -n "$(patterns_for "$m")" ]; then mods+=("$m"); fi
done < <(go_modules)
echo "go vet"
pats=()
for m in "${mods[@]}"; do pats+=("./$m/..."); done
go vet "${pats[@]}" || fail "go vet"

echo "golangci-lint"
for m in "${mods[@]}"; do
  (cd "$m" && "$bin/golangci-lint" run --allow-parallel-runners ./...) || fail "golangci-lint in $m"
done

for s in "${SECTIONS[@]}"; do
  if [ -x "$s/lint.sh" ]; then
    echo "$s/lint.sh"
    "$s/lint.sh" || fail "$s/lint.sh"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'lint failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "lint: ok"
