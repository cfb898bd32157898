# Shared helpers for the Makefile's scripts. Sourced, not run.
# Bash 3.2 (macOS) and POSIX utilities only: no mapfile, no associative
# arrays, and an empty array is never expanded under set -u.
# shellcheck shell=bash

# SECTIONS is the chapter's section folders in order.
SECTIONS=(01-postgresql 02-caching 03-messaging 04-grpc 05-observability 06-config 07-containers)

# section_dir N prints the folder of section N (1, 01, ..., 7) or, for a
# missing or unknown N, prints the valid sections to stderr and exits 2.
section_dir() {
  local n=${1:-} i
  case $n in
    [1-9] | 0[1-9])
      i=${n#0}
      if [ "$i" -le "${#SECTIONS[@]}" ]; then
        echo "${SECTIONS[$((i - 1))]}"
        return 0
      fi
      ;;
  esac
  {
    if [ -z "$n" ]; then echo "missing section number"; else echo "unknown section: $n"; fi
    echo "usage: make <target> N   (N = 1..${#SECTIONS[@]}, e.g. make test-section 1)"
    echo "valid sections:"
    i=0
    while [ "$i" -lt "${#SECTIONS[@]}" ]; do
      printf '  %d  %s\n' $((i + 1)) "${SECTIONS[$i]}"
      i=$((i + 1))
    done
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
    if [ -n "$(find "$d" -name '*.go' -not -path '*/testdata/*' -print | head -n 1)" ]; then
      echo "./$d/..."
    fi
  done
}
