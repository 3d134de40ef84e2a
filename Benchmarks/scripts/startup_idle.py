#!/usr/bin/env python3
"""Start-up time and idle cost of the release binary.

    Benchmarks/scripts/startup_idle.py [--runs 30] [--idle-seconds 10] [--sluice PATH]

Start-up: the time from spawning `sluice` with the default configuration (stdin -> console,
metrics on) until `/readyz` answers 200, polled every 0.2 ms; next to it, the time to spawn
and reap `/bin/true` in the same run (the floor any process pays). Median and p90 of --runs.

Idle: Sluice with open but silent sources (stdin, a FIFO, a Unix socket with a connected
client, TCP, UDP), then the CPU time (utime + stime of every thread, from /proc) and the
context switches it uses over --idle-seconds.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ready(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.05) as connection:
            connection.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return connection.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def startup_once(sluice):
    port = free_port()
    environment = dict(os.environ, SLUICE_METRICS_ADDRESS=f"127.0.0.1:{port}", SLUICE_LOG_LEVEL="warning")
    start = time.perf_counter_ns()
    process = subprocess.Popen([sluice], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    while not ready(port):
        if process.poll() is not None:
            sys.exit("sluice exited during start-up")
        time.sleep(0.0002)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    process.stdin.close()
    process.wait()
    return elapsed


def spawn_true_once():
    start = time.perf_counter_ns()
    subprocess.run(["/bin/true"])
    return (time.perf_counter_ns() - start) / 1e6


def cpu_and_switches(pid):
    ticks = 0
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        with open(f"/proc/{pid}/task/{task}/status") as status:
            for line in status:
                if "ctxt_switches" in line:
                    switches += int(line.split()[1])
    return ticks / os.sysconf("SC_CLK_TCK"), switches


def idle(sluice, seconds):
    work = tempfile.mkdtemp()
    tcp_port, udp_port, metrics_port = free_port(), free_port(), free_port()
    config = os.path.join(work, "idle.yaml")
    with open(config, "w") as file:
        file.write(f"""sources:
  stdin: {{ type: stdin }}
  pipe: {{ type: fifo, path: "{work}/app.fifo" }}
  sock: {{ type: unix, path: "{work}/app.sock" }}
  net: {{ type: tcp, address: "127.0.0.1:{tcp_port}" }}
  dgram: {{ type: udp, address: "127.0.0.1:{udp_port}" }}
sinks:
  console: {{ type: console }}
  archive: {{ type: archive, path: "{work}/out/%Y%m%d.ndjson.gz" }}
metrics: {{ address: "127.0.0.1:{metrics_port}" }}
""")
    process = subprocess.Popen([sluice, "--config", config], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not ready(metrics_port):
        time.sleep(0.01)
    client = socket.socket(socket.AF_UNIX)
    client.connect(f"{work}/app.sock")
    time.sleep(1)
    before = cpu_and_switches(process.pid)
    time.sleep(seconds)
    after = cpu_and_switches(process.pid)
    threads = len(os.listdir(f"/proc/{process.pid}/task"))
    client.close()
    process.stdin.close()
    process.terminate()
    process.wait()
    return after[0] - before[0], after[1] - before[1], threads


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--sluice", default=os.path.join(ROOT, ".build/release/sluice"))
    arguments = parser.parse_args()
    if not os.access(arguments.sluice, os.X_OK):
        sys.exit(f"{arguments.sluice}: build it first (swift build -c release)")

    startup = sorted(startup_once(arguments.sluice) for _ in range(arguments.runs))
    floor = sorted(spawn_true_once() for _ in range(arguments.runs))
    p90 = lambda values: values[int(len(values) * 0.9) - 1]
    print("| measurement | median | p90 |\n|---|---|---|")
    print(f"| spawn + reap /bin/true (reference) | {statistics.median(floor):.2f} ms | {p90(floor):.2f} ms |")
    print(f"| sluice: spawn to /readyz 200 (default config) | {statistics.median(startup):.2f} ms | {p90(startup):.2f} ms |")
    cpu, switches, threads = idle(arguments.sluice, arguments.idle_seconds)
    print(f"\nidle {arguments.idle_seconds:.0f} s with 5 open silent sources, 2 sinks ({threads} threads): "
          f"CPU {cpu:.2f} s, {switches} context switches")


if __name__ == "__main__":
    main()
