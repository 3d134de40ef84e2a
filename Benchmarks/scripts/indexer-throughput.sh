#!/usr/bin/env bash
# stdin -> elasticsearch throughput of the release binary over the shared JSON corpus, against
# fake_bulk_server.py on loopback (gzip requests, 4 in flight), median of REPS runs; then the
# memory of a Sluice whose indexer is down for OUTAGE seconds while input keeps coming.
#
#   Benchmarks/scripts/indexer-throughput.sh [CORPUS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus_dir="${1:-/tmp/corpus}"
reps="${REPS:-3}"
outage="${OUTAGE:-60}"
port="${PORT:-29200}"
sluice="$root/.build/release/sluice"
[ -x "$sluice" ] || (cd "$root" && swift build -c release >/dev/null)
work="$(mktemp -d)"
trap 'rm -rf "$work"; kill $(jobs -p) 2>/dev/null || true' EXIT
file="$corpus_dir/corpus.json.log"
lines=$(wc -l < "$file")
bytes=$(stat -c %s "$file")
printf 'sources: { stdin: { type: stdin } }\nsinks: { search: { type: elasticsearch, endpoint: "http://127.0.0.1:%s", compression: gzip } }\n' "$port" > "$work/es.yaml"

run_once() {
    python3 "$(dirname "$0")/fake_bulk_server.py" "$port" > "$work/server.out" &
    local server=$!
    until curl -s "http://127.0.0.1:$port/" >/dev/null; do sleep 0.05; done
    local start end
    start=$(date +%s%N)
    /usr/bin/time -f "%M %U %S" -o "$work/time" "$sluice" --config "$work/es.yaml" < "$file" 2> "$work/log"
    end=$(date +%s%N)
    kill -TERM "$server"; wait "$server" || true
    read -r rss user sys < "$work/time"
    read -r requests received < "$work/server.out"
    echo "$(echo "scale=3; ($end - $start) / 1000000000" | bc) $rss $(echo "$user + $sys" | bc) $requests $received"
}

for _ in $(seq "$reps"); do run_once; done | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2)' > "$work/median"
read -r s rss cpu requests received < "$work/median"
printf '| scenario | median s | lines/s | MB/s | peak RSS MiB | CPU s | requests | MB sent (gzip) |\n|---|---|---|---|---|---|---|---|\n'
awk -v s="$s" -v l="$lines" -v b="$bytes" -v r="$rss" -v c="$cpu" -v q="$requests" -v x="$received" \
    'BEGIN { printf "| stdin -> elasticsearch (fake, loopback) | %.3f | %d | %.0f | %.1f | %.2f | %d | %.1f |\n", s, l / s, b / s / 1e6, r / 1024, c, q, x / 1e6 }'

# An outage: nothing listens on the port; a writer keeps sending for OUTAGE seconds.
"$sluice" --config "$work/es.yaml" < <(while :; do cat "$file"; done) 2> "$work/outage.log" > /dev/null &
pid=$!
samples=""
for second in $(seq "$outage"); do
    sleep 1
    samples="$samples $(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$pid/status")"
done
kill -KILL "$pid" 2>/dev/null || true
echo "RSS (MiB, once a second) during a ${outage}-second indexer outage:$samples"
