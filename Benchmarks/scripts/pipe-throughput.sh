#!/usr/bin/env bash
# End-to-end pipe throughput of the release binary over the shared corpora, next to
# `cat corpus > /dev/null` measured in the same run. Median of REPS runs.
#
#   Benchmarks/scripts/pipe-throughput.sh [CORPUS_DIR]
#
# CORPUS_DIR holds corpus.json.log and corpus.text.log from
# ../shared/bench/gen_corpus.py --flavour all --lines 1000000 --outdir CORPUS_DIR
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus_dir="${1:-/tmp/corpus}"
reps="${REPS:-3}"
sluice="$root/.build/release/sluice"
[ -x "$sluice" ] || (cd "$root" && swift build -c release >/dev/null)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
printf 'sources: { stdin: { type: stdin } }\nsinks: { discard: { type: blackhole } }\n' > "$work/blackhole.yaml"

# Runs "$@" REPS times; prints "median_seconds max_rss_kb cpu_seconds" of the median run
# (wall time from the nanosecond clock; RSS and CPU from GNU time).
measure() {
    for _ in $(seq "$reps"); do
        start=$(date +%s%N)
        /usr/bin/time -f "%M %U %S" -o "$work/time" "$@" 2>/dev/null
        end=$(date +%s%N)
        read -r rss user sys < "$work/time"
        echo "$(echo "scale=3; ($end - $start) / 1000000000" | bc) $rss $(echo "$user + $sys" | bc)"
    done | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2)'
}

row() {  # scenario flavour seconds lines bytes rss_kb cpu_s cat_seconds
    awk -v sc="$1" -v f="$2" -v s="$3" -v l="$4" -v b="$5" -v r="$6" -v c="$7" -v cs="$8" \
        'BEGIN { printf "| %s | %s | %.3f | %d | %.0f | %.1f | %.2f | %.1f%% |\n", sc, f, s, l / s, b / s / 1e6, r / 1024, c, 100 * cs / s }'
}

printf '| scenario | corpus | median s | lines/s | MB/s | peak RSS MiB | CPU s | of cat throughput |\n|---|---|---|---|---|---|---|---|\n'
for flavour in json text; do
    file="$corpus_dir/corpus.$flavour.log"
    lines=$(wc -l < "$file")
    bytes=$(stat -c %s "$file")
    read -r cat_s cat_rss cat_cpu <<< "$(measure sh -c "cat '$file' > /dev/null")"
    row "cat > /dev/null (reference)" "$flavour" "$cat_s" "$lines" "$bytes" "$cat_rss" "$cat_cpu" "$cat_s"
    for scenario in blackhole console; do
        if [ "$scenario" = blackhole ]; then
            read -r s rss cpu <<< "$(measure sh -c "cat '$file' | '$sluice' --config '$work/blackhole.yaml'")"
        else
            read -r s rss cpu <<< "$(measure sh -c "cat '$file' | '$sluice' > /dev/null")"
        fi
        row "stdin -> $scenario" "$flavour" "$s" "$lines" "$bytes" "$rss" "$cpu" "$cat_s"
    done
done
