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

# Runs "$@" REPS times; prints "median_seconds max_rss_kb cpu_seconds" of the median run.
measure() {
    for _ in $(seq "$reps"); do
        /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" 2>/dev/null
        read -r elapsed rss user sys < "$work/time"
        echo "$elapsed $rss $(echo "$user + $sys" | bc)"
    done | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2)'
}

printf '| scenario | corpus | median s | lines/s | MB/s | peak RSS MiB | CPU s | vs cat |\n|---|---|---|---|---|---|---|---|\n'
for flavour in json text; do
    file="$corpus_dir/corpus.$flavour.log"
    lines=$(wc -l < "$file")
    bytes=$(stat -c %s "$file")
    read -r cat_s _ _ <<< "$(measure sh -c "cat '$file' > /dev/null")"
    for scenario in blackhole console; do
        if [ "$scenario" = blackhole ]; then
            read -r s rss cpu <<< "$(measure sh -c "cat '$file' | '$sluice' --config '$work/blackhole.yaml'")"
        else
            read -r s rss cpu <<< "$(measure sh -c "cat '$file' | '$sluice' > /dev/null")"
        fi
        awk -v sc="stdin -> $scenario" -v f="$flavour" -v s="$s" -v l="$lines" -v b="$bytes" -v r="$rss" -v c="$cpu" -v cs="$cat_s" \
            'BEGIN { printf "| %s | %s | %.2f | %d | %.0f | %.1f | %.2f | %.1fx cat time |\n", sc, f, s, l / s, b / s / 1e6, r / 1024, c, s / cs }'
    done
done
