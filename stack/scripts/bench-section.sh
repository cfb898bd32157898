#!/usr/bin/env bash
# bench-section.sh N — run section N's benchmarks (-benchmem -count=6) and
# summarise them with benchstat. Raw output goes to bench-NN.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
. stack/scripts/lib.sh
dir=$(section_dir "${1:-}")
pats=()
while IFS= read -r p; do pats+=("$p"); done < <(patterns_for "$dir")
if [ ${#pats[@]} -eq 0 ]; then
  echo "$dir: no examples yet (planned, see $dir/README.md)"
  exit 0
fi
out="bench-${dir%%-*}.txt"
tmp=$(mktemp "$out.XXXXXX") # two runs at once must not interleave in one file
trap 'rm -f "$tmp"' EXIT
export INFRA_REQUIRED=1
cpu() {
  if [ -r /proc/cpuinfo ]; then
    grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'
  else
    sysctl -n machdep.cpu.brand_string 2>/dev/null || uname -m
  fi
}
cores() { getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?'; }
{
  echo "# $(go version) · $(cpu) · $(cores) cores · $(date -u +%Y-%m-%d)"
  go test -run '^$' -bench "${BENCH:-.}" -benchmem -count="${COUNT:-6}" -timeout "${BENCH_TIMEOUT:-30m}" "${pats[@]}"
} | tee "$tmp"
mv "$tmp" "$out"
echo
echo "benchstat $out:"
.stack/bin/benchstat "$out"
