#!/usr/bin/env bash
# bench-section.sh N — run section N's benchmarks (-benchmem -count=6) and
# summarise them with benchstat. Raw output goes to bench-NN.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
source stack/scripts/lib.sh
dir=$(section_dir "${1:-}")
mapfile -t pats < <(patterns_for "$dir")
if [[ ${#pats[@]} -eq 0 ]]; then
  echo "$dir: no examples yet (planned, see $dir/README.md)"
  exit 0
fi
out="bench-${dir%%-*}.txt"
tmp=$(mktemp "$out.XXXXXX") # two runs at once must not interleave in one file
trap 'rm -f "$tmp"' EXIT
export INFRA_REQUIRED=1
{
  echo "# $(go version) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') · $(nproc) cores · $(date -u +%Y-%m-%d)"
  go test -run '^$' -bench "${BENCH:-.}" -benchmem -count="${COUNT:-6}" "${pats[@]}"
} | tee "$tmp"
mv "$tmp" "$out"
echo
echo "benchstat $out:"
.stack/bin/benchstat "$out"
