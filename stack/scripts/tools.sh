#!/usr/bin/env bash
# tools.sh — build the Go tools pinned in stack/tools/go.mod (tool directives)
# into .stack/bin, and install shellcheck (a Debian package; make lint runs
# it) when it is missing. The go build cache makes a second run take seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .stack/bin
bin=$PWD/.stack/bin

if ! command -v shellcheck >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    echo "installing shellcheck (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends shellcheck >/dev/null; }
  else
    echo "shellcheck is missing (make lint needs it): apt-get install shellcheck, or brew install shellcheck" >&2
  fi
fi

# The tool directives of a module: `tool path` lines and `tool ( ... )` blocks.
tools_of() {
  sed -n -e 's/^tool[[:space:]]\{1,\}\([^([:space:]][^[:space:]]*\)[[:space:]]*$/\1/p' \
    -e '/^tool (/,/^)/{/^tool (/d;/^)/d;s/^[[:space:]]*//;s/[[:space:]].*//;p;}' "$1/go.mod"
}

# stack/tools holds most tools; actionlint has a module of its own (see its go.mod).
for mod in stack/tools stack/tools/actionlint; do
  tools=()
  while IFS= read -r t; do
    if [ -n "$t" ]; then tools+=("$t"); fi
  done < <(tools_of "$mod")
  if [ ${#tools[@]} -eq 0 ]; then
    echo "tools.sh: no tool directives in $mod/go.mod" >&2
    exit 1
  fi
  (cd "$mod" && GOWORK=off go build -o "$bin/" "${tools[@]}")
done
