#!/usr/bin/env python3
"""What a sidecar costs, Sluice beside Fluent Bit, in one run:

    Benchmarks/scripts/footprint.py --fluent-bit PATH [--sluice .build/sluice] [--runs 3]
        [--corpus /tmp/logbench/corpus/corpus.json.1000000.log]

- the stripped binary's size (each is stripped into a scratch copy first);
- start-up: from spawning each with a TCP input until its port accepts a connection (polled
  every 0.5 ms), then its idle CPU (utime + stime from /proc, clock ticks) over 10 s and its
  resident memory after them;
- stdin JSON -> null on the corpus: peak RSS and CPU (`/usr/bin/time`).

Fluent Bit as built for it (2026-12-07): v5.1.1, `cmake -DFLB_RELEASE=On -DFLB_MINIMAL=On
-DFLB_IN_STDIN=On -DFLB_IN_TCP=On -DFLB_OUT_NULL=On -DFLB_OUT_FILE=On -DFLB_JEMALLOC=On
-DFLB_KAFKA=Off -DFLB_PREFER_SYSTEM_LIB_SQLITE=On` then `make -j2` (apt: cmake flex bison
libyaml-dev libssl-dev libsqlite3-dev). Prints one line per measurement and run.
"""
import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def stripped_size(binary, work):
    copy = os.path.join(work, os.path.basename(binary) + ".stripped")
    subprocess.run(["strip", "-o", copy, binary], check=True)
    return os.path.getsize(copy)


def ticks(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def start_and_idle(command, port, idle_seconds):
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.monotonic() - started < 5:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.0005)
        ready_ms = (time.monotonic() - started) * 1000
        time.sleep(2)
        before = ticks(process.pid)
        time.sleep(idle_seconds)
        idle = ticks(process.pid) - before
        resident = next(line.split()[1] for line in open("/proc/%d/status" % process.pid) if line.startswith("VmRSS"))
        return ready_ms, idle, int(resident)
    finally:
        process.terminate()
        process.wait()


def stdin_to_null(command, corpus):
    # Through a pipe (`cat`): Fluent Bit's stdin input never sees the end of a regular file.
    feed = subprocess.Popen(["cat", corpus], stdout=subprocess.PIPE)
    result = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + command, stdin=feed.stdout,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=120)
    feed.stdout.close()
    feed.wait()
    peak, user, system = result.stderr.strip().splitlines()[-1].split()
    return int(peak), float(user) + float(system)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", default=os.path.join(ROOT, ".build", "sluice"))
    parser.add_argument("--fluent-bit", required=True)
    parser.add_argument("--corpus", default="/tmp/logbench/corpus/corpus.json.1000000.log")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--idle-seconds", type=float, default=10)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="sluice-footprint-")
    tcp = os.path.join(work, "tcp.yaml")
    with open(tcp, "w") as config:
        config.write('sources: { net: { type: tcp, address: "127.0.0.1:24301" } }\n'
                     "sinks: { out: { type: blackhole } }\nmetrics: { enabled: false }\n")
    null = os.path.join(work, "null.yaml")
    with open(null, "w") as config:
        config.write("sources: { stdin: { type: stdin } }\nsinks: { out: { type: blackhole } }\n")
    routers = {
        "sluice": ([args.sluice, "--config", tcp], 24301, [args.sluice, "--config", null]),
        "fluent-bit": ([args.fluent_bit, "-q", "-i", "tcp", "-p", "listen=127.0.0.1", "-p", "port=24302",
                        "-p", "format=none", "-o", "null"], 24302, [args.fluent_bit, "-q", "-i", "stdin", "-o", "null"]),
    }
    for name, (listening, port, piped) in routers.items():
        print("%-10s stripped binary %.1f MB" % (name, stripped_size(listening[0], work) / 1e6))
    for _ in range(args.runs):
        for name, (listening, port, piped) in routers.items():
            ready_ms, idle, resident = start_and_idle(listening, port, args.idle_seconds)
            print("%-10s ready %.1f ms, idle %d ticks in %gs, %.1f MiB resident" % (name, ready_ms, idle, args.idle_seconds, resident / 1024))
            peak, cpu = stdin_to_null(piped, args.corpus)
            print("%-10s stdin -> null: peak %.1f MiB, %.2f CPU-s" % (name, peak / 1024, cpu))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
