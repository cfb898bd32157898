#!/usr/bin/env bash
# redis-bench.sh — go-redis pipelining against redis-benchmark on the same
# server in the same run: BenchmarkThousandSets (01-redis-client) gives
# sets/s for each way of sending 1,000 SETs, `redis-benchmark -P 16 -t set`
# the server's pipelined ceiling, and the ratio says how close go-redis gets.
# Run from the repository root: 02-caching/redis-bench.sh
# Needs redis-benchmark (Debian: redis-tools) and the stack (make up).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -f .stack/env ]]; then set -a; source .stack/env; set +a; fi
addr=${REDIS_ADDR:-localhost:6379}
host=${addr%:*} port=${addr##*:}
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found (apt-get install redis-tools)" >&2; exit 1; }

echo "# $(go version) · $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') · $(nproc) cores · $(date -u +%Y-%m-%d)"
gobench=$(INFRA_REQUIRED=1 go test -run '^$' -bench ThousandSets -benchtime "${BENCHTIME:-2s}" -count 1 ./02-caching/01-redis-client)
echo "$gobench" | grep '^Benchmark'
# Without -r redis-benchmark writes one key, key:__rand_int__, removed after.
rb=$(redis-benchmark -h "$host" -p "$port" -P 16 -t set -n "${REQUESTS:-200000}" -q | tr '\r' '\n' | grep -E '^SET:' | tail -1)
redis-cli -h "$host" -p "$port" DEL key:__rand_int__ >/dev/null
echo "redis-benchmark -P 16 -t set (50 clients): $rb"
server=$(echo "$rb" | sed -E 's/^SET: ([0-9.]+) requests per second.*/\1/')
echo
printf '%-28s %12s %10s\n' "go-redis, 1,000 SETs" "sets/s" "of -P 16"
echo "$gobench" | awk -v s="$server" '/^BenchmarkThousandSets\// {
  name = $1; sub(/^BenchmarkThousandSets\//, "", name); sub(/-[0-9]+$/, "", name)
  for (i = 1; i <= NF; i++) if ($(i+1) == "sets/s") v = $i
  printf "%-28s %12.0f %9.1f%%\n", name, v, 100 * v / s }'
