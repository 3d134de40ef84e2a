#!/usr/bin/env bash
# Socket -> blackhole throughput of the release binary over the shared corpora: one TCP
# sender, the way ../shared/bench/bench.py feeds other routers (socat -u -b 262144), and 100
# concurrent Unix socket writers each sending a hundredth of the corpus. Timed from the
# senders' start until Sluice has processed everything (it exits on SIGTERM once every
# connection is closed and drained). Median of REPS runs.
#
#   Benchmarks/scripts/tcp-throughput.sh [CORPUS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus_dir="${1:-/tmp/corpus}"
reps="${REPS:-3}"
port="${PORT:-25170}"
sluice="$root/.build/release/sluice"
[ -x "$sluice" ] || (cd "$root" && swift build -c release >/dev/null)
command -v socat >/dev/null || { echo "socat is needed (apt-get install socat)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

run_once() {  # flavour transport -> "seconds rss_kb cpu_s events"
    local file="$corpus_dir/corpus.$1.log"
    if [ "$2" = tcp ]; then
        printf 'sources: { net: { type: tcp, address: "127.0.0.1:%s" } }\n' "$port" > "$work/sluice.yaml"
    else
        printf 'sources: { net: { type: unix, path: "%s/sluice.sock" } }\n' "$work" > "$work/sluice.yaml"
        [ -f "$work/part.$1.00" ] || split -n l/100 -d -a 2 "$file" "$work/part.$1."
    fi
    printf 'sinks: { discard: { type: blackhole } }\n' >> "$work/sluice.yaml"
    /usr/bin/time -f "%M %U %S" -o "$work/time" "$sluice" --config "$work/sluice.yaml" 2> "$work/log" &
    local pid=$!
    until grep -q '"listening"' "$work/log" 2>/dev/null; do sleep 0.01; done
    local start end
    start=$(date +%s%N)
    if [ "$2" = tcp ]; then
        socat -u -b 262144 "FILE:$file" "TCP:127.0.0.1:$port"
    else
        for part in "$work"/part."$1".*; do socat -u -b 262144 "FILE:$part" "UNIX-CONNECT:$work/sluice.sock" & done
        wait $(jobs -p | grep -v "^$pid\$")
    fi
    pkill -TERM -P "$pid"  # sluice, the child of GNU time
    wait "$pid" || true
    end=$(date +%s%N)
    read -r rss user sys < "$work/time"
    local events
    events=$(tail -1 "$work/log" | sed -n 's/.*"events_in":{"net":\([0-9]*\)}.*/\1/p')
    echo "$(echo "scale=3; ($end - $start) / 1000000000" | bc) $rss $(echo "$user + $sys" | bc) $events"
}

printf '| scenario | corpus | median s | lines/s | MB/s | peak RSS MiB | CPU s | events |\n|---|---|---|---|---|---|---|---|\n'
for transport in tcp unix; do
    for flavour in text json; do
        file="$corpus_dir/corpus.$flavour.log"
        lines=$(wc -l < "$file")
        bytes=$(stat -c %s "$file")
        for _ in $(seq "$reps"); do run_once "$flavour" "$transport"; done | sort -n | awk -v n="$reps" 'NR == int((n + 1) / 2)' > "$work/median"
        read -r s rss cpu events < "$work/median"
        label="tcp (1 sender) -> blackhole"
        [ "$transport" = unix ] && label="unix (100 writers) -> blackhole"
        awk -v sc="$label" -v f="$flavour" -v s="$s" -v l="$lines" -v b="$bytes" -v r="$rss" -v c="$cpu" -v e="$events" \
            'BEGIN { printf "| %s | %s | %.3f | %d | %.0f | %.1f | %.2f | %d |\n", sc, f, s, l / s, b / s / 1e6, r / 1024, c, e }'
    done
done
