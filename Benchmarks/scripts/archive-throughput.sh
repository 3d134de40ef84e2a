#!/usr/bin/env bash
# stdin -> archive throughput of the release binary over the shared JSON corpus at gzip levels
# 1 and 6, next to the gzip and pigz CLIs compressing the same corpus in the same run, and the
# archive's size next to `gzip -N` of the same NDJSON. Median of REPS runs.
#
#   Benchmarks/scripts/archive-throughput.sh [CORPUS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus_dir="${1:-/tmp/corpus}"
reps="${REPS:-3}"
sluice="$root/.build/release/sluice"
[ -x "$sluice" ] || (cd "$root" && swift build -c release >/dev/null)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
file="$corpus_dir/corpus.json.log"
lines=$(wc -l < "$file")
bytes=$(stat -c %s "$file")

measure() {  # command... -> "median_seconds rss_kb cpu_s"
    for _ in $(seq "$reps"); do
        rm -rf "$work/out"
        start=$(date +%s%N)
        /usr/bin/time -f "%M %U %S" -o "$work/time" "$@" 2>/dev/null
        end=$(date +%s%N)
        read -r rss user sys < "$work/time"
        echo "$(echo "scale=3; ($end - $start) / 1000000000" | bc) $rss $(echo "$user + $sys" | bc)"
    done | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2)'
}

row() {  # label seconds rss cpu
    awk -v sc="$1" -v s="$2" -v l="$lines" -v b="$bytes" -v r="$3" -v c="$4" \
        'BEGIN { printf "| %s | %.3f | %d | %.0f | %.1f | %.2f |\n", sc, s, l / s, b / s / 1e6, r / 1024, c }'
}

printf '| scenario (JSON corpus) | median s | lines/s | MB/s | peak RSS MiB | CPU s |\n|---|---|---|---|---|---|\n'
for level in 1 6; do
    read -r s rss cpu <<< "$(measure sh -c "gzip -$level < '$file' > /dev/null")"
    row "gzip -$level (CLI)" "$s" "$rss" "$cpu"
    if command -v pigz >/dev/null; then
        read -r s rss cpu <<< "$(measure sh -c "pigz -p 2 -$level < '$file' > /dev/null")"
        row "pigz -p 2 -$level (CLI)" "$s" "$rss" "$cpu"
    fi
    for threads in 1 2; do
        printf 'sources: { stdin: { type: stdin } }\nsinks: { archive: { type: archive, path: "%s/out/a.ndjson.gz", gzip_level: %s, compression_threads: %s } }\n' \
            "$work" "$level" "$threads" > "$work/a.yaml"
        read -r s rss cpu <<< "$(measure sh -c "'$sluice' --config '$work/a.yaml' < '$file'")"
        row "sluice stdin -> archive, level $level, $threads compression thread(s)" "$s" "$rss" "$cpu"
    done
    archive_size=$(stat -c %s "$work/out/a.ndjson.gz")
    gzip_size=$(gzip -dc "$work/out/a.ndjson.gz" | gzip -"$level" | wc -c)
    echo "size at level $level: archive $archive_size bytes, gzip -$level of the same NDJSON $gzip_size bytes ($(echo "scale=2; 100 * ($archive_size - $gzip_size) / $gzip_size" | bc)%)" >> "$work/sizes"
done
cat "$work/sizes"
