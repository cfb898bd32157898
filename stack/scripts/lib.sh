# Shared helpers for the Makefile's scripts. Sourced, not run.
# shellcheck shell=bash

# SECTIONS is the chapter's section folders in order.
SECTIONS=(01-postgresql 02-caching 03-messaging 04-grpc 05-observability 06-config 07-containers)

# section_dir N prints the folder of section N (1, 01, ..., 7) or, for a
# missing or unknown N, prints the valid sections to stderr and exits 2.
section_dir() {
  local n=${1:-}
  if [[ $n =~ ^0?[1-9]$ ]] && ((10#$n <= ${#SECTIONS[@]})); then
    echo "${SECTIONS[$((10#$n - 1))]}"
    return 0
  fi
  {
    [[ -z $n ]] && echo "missing section number" || echo "unknown section: $n"
    echo "usage: make <target> N   (N = 1..${#SECTIONS[@]}, e.g. make test-section 1)"
    echo "valid sections:"
    local i
    for i in "${!SECTIONS[@]}"; do printf '  %d  %s\n' $((i + 1)) "${SECTIONS[$i]}"; done
  } >&2
  exit 2
}

# go_modules prints every module folder of the workspace, in go.work order.
go_modules() {
  sed -n 's#^[[:space:]]*\(use[[:space:]]*\)\{0,1\}\./\([^[:space:]()]*\)[[:space:]]*$#\2#p' go.work
}

# patterns_for DIR... prints a ./DIR/... pattern for every DIR holding Go
# packages, so an empty section does not make go test fail.
patterns_for() {
  local d
  for d in "$@"; do
    if [[ -n $(find "$d" -name '*.go' -not -path '*/testdata/*' -print -quit) ]]; then
      echo "./$d/..."
    fi
  done
}

# examples_of SECTION prints the example folders of a section in chapter order.
examples_of() {
  local d
  for d in "$1"/[0-9][0-9]-*/; do
    [[ -f $d/main.go ]] && echo "${d%/}"
  done
  return 0
}
