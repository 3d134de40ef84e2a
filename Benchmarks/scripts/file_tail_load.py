#!/usr/bin/env python3
"""The file source under a steady load of many writers, against stdin at the same volume.

100 files (by default) are appended at 10,000 lines/s each (100 lines every 10 ms, one write per
file, from the JSON corpus) for 5 s; Sluice tails them into a blackhole. Every 50 ms the lag is
sampled: lines written minus events Sluice has read (`sluice_source_events_total`), in seconds
of writing. The same lines, at the same pace, then go to Sluice's stdin in one stream. The
output is one JSON object: for each case Sluice's CPU seconds (its own, from /proc) over the
writing and the drain, and the lag's maximum and 99th percentile; and the CPU ratio.

    python3 Benchmarks/scripts/file_tail_load.py [--sluice .build/release/sluice] [--corpus FILE]
"""
import argparse
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TICK = 0.010


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def events_read(port):
    try:
        body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2).read().decode()
    except OSError:
        return None
    match = re.search(r'^sluice_source_events_total\{source="app"\} (\d+)', body, re.M)
    return int(match.group(1)) if match else None


def metrics_port(log_path, deadline=20.0):
    end = time.time() + deadline
    while time.time() < end:
        with open(log_path, errors="replace") as log:
            for line in log:
                if '"metrics listening"' in line:
                    return int(re.search(r'"port":(\d+)', line).group(1))
        time.sleep(0.01)
    raise RuntimeError("no metrics port in %s" % log_path)


def chunks(corpus, lines_per_chunk, count):
    with open(corpus, "rb") as f:
        lines = f.read().splitlines(keepends=True)[:lines_per_chunk * count]
    return [b"".join(lines[i:i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)]


def run(sluice, work, files, per_tick, seconds, pieces, to_stdin):
    config = os.path.join(work, "case.yaml")
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)
    source = "{ type: stdin }" if to_stdin else '{ type: file, include: ["%s/*.log"] }' % logs
    with open(config, "w") as f:
        f.write("data_dir: %s/data\nsources: { app: %s }\nsinks: { discard: { type: blackhole } }\n"
                "metrics: { enabled: true, address: \"127.0.0.1:0\" }\n" % (work, source))
    targets = [os.open(os.path.join(logs, "f%03d.log" % i), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) for i in range(files)]
    log_path = os.path.join(work, "sluice.log")
    with open(log_path, "w") as log:
        process = subprocess.Popen([sluice, "--config", config], stdin=subprocess.PIPE if to_stdin else subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log)
    port = metrics_port(log_path)
    time.sleep(0.5)
    if to_stdin:
        targets = [process.stdin.fileno()]
        pieces = [b"".join(pieces[i:i + files]) for i in range(0, len(pieces), files)]
    lines_per_write = per_tick * (files if to_stdin else 1)
    cpu_start = cpu_seconds(process.pid)
    written, lags, ticks = 0, [], int(seconds / TICK)
    start = time.perf_counter()
    next_sample = start
    piece = 0
    for tick in range(ticks):
        for target in targets:
            os.write(target, pieces[piece % len(pieces)])
            piece += 1
            written += lines_per_write
        now = time.perf_counter()
        if now >= next_sample:
            read = events_read(port)
            if read is not None:
                lags.append((written - read) / (files * per_tick / TICK))
            next_sample = now + 0.05
        pause = start + (tick + 1) * TICK - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    while (events_read(port) or 0) < written:
        time.sleep(0.005)
    drained = time.perf_counter() - start
    cpu = cpu_seconds(process.pid) - cpu_start
    process.send_signal(signal.SIGTERM)
    if to_stdin:
        process.stdin.close()
    process.wait()
    for target in targets if not to_stdin else []:
        os.close(target)
    lags.sort()
    return {"lines": written, "seconds": round(drained, 3), "cpu_s": round(cpu, 3),
            "max_lag_s": round(lags[-1], 3) if lags else None,
            "p99_lag_s": round(lags[int(len(lags) * 0.99)], 3) if lags else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", default=os.path.join(ROOT, ".build", "release", "sluice"))
    parser.add_argument("--corpus", default="/tmp/logbench/corpus/corpus.json.1000000.log", help="the harness's JSON corpus")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rate", type=int, default=10_000, help="lines/s per file")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    per_tick = int(args.rate * TICK)
    pieces = chunks(args.corpus, per_tick, 2_000)
    result = {"files": args.files, "lines_per_s_each": args.rate}
    for name, to_stdin in (("file", False), ("stdin", True)):
        with tempfile.TemporaryDirectory(prefix="sluice-tail-") as work:
            result[name] = run(args.sluice, work, args.files, per_tick, args.seconds, pieces, to_stdin)
    result["cpu_ratio_file_to_stdin"] = round(result["file"]["cpu_s"] / max(result["stdin"]["cpu_s"], 1e-9), 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
