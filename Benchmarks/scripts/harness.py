#!/usr/bin/env python3
"""Sluice's end-to-end benchmark harness: the release binary over the shared corpora, in the
scenarios of ../shared/bench/bench.py, beside the physical references (cat, gzip, pigz) and,
when installed, the Debian-packaged routers (rsyslog, syslog-ng, driven by bench.py itself),
all in one run on one machine.

    swift build -c release --static-swift-stdlib --product sluice
    python3 Benchmarks/scripts/harness.py --lines 1000000 --reps 3 \\
        --json Benchmarks/results/latest.json --markdown Benchmarks/results/latest.md
    python3 Benchmarks/scripts/chart.py Benchmarks/results/latest.json Benchmarks/results/throughput.svg

Every figure is the median of --reps runs with the min-max shown. Wall time runs from spawning
Sluice to its exit for stdin cases (start-up, draining and the final fsync included), and from
the first byte sent to the last event counted on /metrics for socket cases (TCP: one
connection from socat; Unix: 100 concurrent writers, a slice of the corpus each). CPU seconds and
peak RSS are Sluice's own (wait4 rusage), never the feeder's. Ratios compare each scenario
with its reference measured in the same run: `cat` for passthrough, `gzip -N` and
`pigz -p 2 -N` for archives, the slowest single sink for fan-out.

--outage adds a 60-second indexer outage and reports Sluice's RSS across it; start-up and
idle figures come from startup_idle.py (run with --startup).
"""
import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
SHARED_BENCH = os.path.abspath(os.path.join(ROOT, "..", "shared", "bench"))


# ------------------------------------------------------------------ measuring

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait4(process):
    """Waits for `process`; returns (exit status, CPU seconds) of it alone. (Its ru_maxrss
    would count the forked Python before exec: peak RSS comes from elsewhere.)"""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_utime + usage.ru_stime


def metric(port, name):
    try:
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=2).read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


def logged_line(log_path, message, deadline=10.0):
    """The first line of Sluice's log with `message` (and a port, when `port` is set)."""
    end = time.time() + deadline
    while time.time() < end:
        with open(log_path, errors="replace") as log:
            for line in log:
                if '"%s"' % message in line:
                    return line
        time.sleep(0.01)
    raise RuntimeError("sluice did not log %r; see %s" % (message, log_path))


def logged_port(log_path, message):
    end = time.time() + 10
    while time.time() < end:
        found = re.search(r'"port":(\d+)', logged_line(log_path, message))
        if found:
            return int(found.group(1))
        time.sleep(0.01)
    raise RuntimeError("sluice logged %r without a port; see %s" % (message, log_path))


class Run:
    def __init__(self, seconds, cpu, rss_kib, check=""):
        self.seconds, self.cpu, self.rss_kib, self.check = seconds, cpu, rss_kib, check


def run_reference(argv, stdin_path):
    """A reference tool reading the corpus on stdin, output discarded; peak RSS from GNU time."""
    with open(stdin_path, "rb") as source, tempfile.NamedTemporaryFile("r") as measured:
        start = time.perf_counter()
        process = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", measured.name] + argv,
                                   stdin=source, stdout=subprocess.DEVNULL)
        status, cpu = wait4(process)
        seconds = time.perf_counter() - start
        rss = int(measured.read().split()[-1])
    if status != 0:
        raise RuntimeError("%s exited %d" % (argv, status))
    return Run(seconds, cpu, rss)


def run_sluice_stdin(sluice, config, corpus, work, expect_out=None):
    """`cat corpus | sluice --config config > work/stdout.ndjson`, timed from spawn to exit."""
    log_path = os.path.join(work, "sluice.log")
    with open(log_path, "w") as log, open(os.path.join(work, "stdout.ndjson"), "wb") as output:
        start = time.perf_counter()
        feeder = subprocess.Popen(["cat", corpus], stdout=subprocess.PIPE)
        process = subprocess.Popen([sluice, "--config", config], stdin=feeder.stdout,
                                   stdout=output, stderr=log, env=sluice_env())
        feeder.stdout.close()
        status, cpu = wait4(process)
        seconds = time.perf_counter() - start
        feeder.wait()
    if status != 0:
        raise RuntimeError("sluice exited %d; see %s" % (status, log_path))
    check, rss = exit_summary(log_path, expect_out)
    return Run(seconds, cpu, rss, check)


def exit_summary(log_path, expect_out):
    """Sluice's exit summary: checks that every sink delivered `expect_out` events, and returns
    the check and Sluice's peak RSS (VmHWM, its own, in KiB)."""
    with open(log_path, errors="replace") as log:
        lines = [line for line in log if '"stopped' in line]
    if not lines:
        raise RuntimeError("no exit summary in %s" % log_path)
    summary = json.loads(lines[-1])
    delivered = summary.get("events_out", {})
    if expect_out is not None and any(count != expect_out for count in delivered.values()):
        raise RuntimeError("sinks delivered %s, expected %d each" % (delivered, expect_out))
    return "out=" + ",".join("%s:%d" % item for item in sorted(delivered.items())), summary["peak_rss_kib"]


def run_sluice_counted(sluice, config, lines, work, listening=None, feed=None, poll=0.002):
    """Sluice with `config` (its sink a blackhole named `discard`) until it has counted `lines`
    events, then SIGTERM. Timed from the first byte sent (`feed(listening(log_path))`), or,
    without a feed (the source reads on its own), from spawning Sluice; `/metrics` is polled
    every `poll` seconds (each poll costs Sluice a little CPU)."""
    log_path = os.path.join(work, "sluice.log")
    environment = sluice_env()
    environment["SLUICE_METRICS_ENABLED"] = "true"
    environment["SLUICE_METRICS_ADDRESS"] = "127.0.0.1:0"
    start = time.perf_counter()
    with open(log_path, "w") as log:
        process = subprocess.Popen([sluice, "--config", config], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=log, env=environment)
    metrics = logged_port(log_path, "metrics listening")
    if feed:
        target = listening(log_path)
        start = time.perf_counter()
        feed(target)
    while (metric(metrics, 'sluice_sink_events_total{sink="discard"}') or 0) < lines:
        time.sleep(poll)
    seconds = time.perf_counter() - start
    process.send_signal(signal.SIGTERM)
    status, cpu = wait4(process)
    if status != 0:
        raise RuntimeError("sluice exited %d; see %s" % (status, log_path))
    check, rss = exit_summary(log_path, lines)
    return Run(seconds, cpu, rss, check)


def run_sluice_socket(sluice, source, listening, feed, lines, work):
    """Sluice with one socket source (`source`, a YAML flow mapping) into a blackhole, fed by
    `feed(listening(log_path))`; timed from the first byte sent to the last event counted."""
    config = write(work, "socket.yaml", [
        "sources: { net: %s }" % source,
        "sinks: { discard: { type: blackhole } }",
    ])
    return run_sluice_counted(sluice, config, lines, work, listening, feed)


def run_sluice_tcp(sluice, corpus, lines, work):
    """A TCP source on loopback fed by socat in one connection."""
    def feed(port):
        subprocess.run(["socat", "-u", "-b", "262144", "FILE:" + corpus, "TCP:127.0.0.1:%d" % port], check=True)
    return run_sluice_socket(sluice, '{ type: tcp, address: "127.0.0.1:0" }',
                             lambda log_path: logged_port(log_path, "listening"), feed, lines, work)


OTEL_PYTHON = os.path.join(ROOT, ".build", "otel-venv", "bin", "python3")


def run_sluice_otlp(sluice, corpus, lines, work):
    """The `otlp` source fed by otlp_load.py: one pre-encoded request of 1,000 records (the
    official classes), sent lines/1000 times over 4 keep-alive connections. The corpus is not
    used: the records are the loader's."""
    if not os.access(OTEL_PYTHON, os.X_OK):
        raise RuntimeError("no %s: `.ci/setup --tests` installs the OpenTelemetry packages there" % OTEL_PYTHON)

    def feed(port):
        subprocess.run([OTEL_PYTHON, os.path.join(HERE, "otlp_load.py"), str(port), str(lines // 1000), "1000", "4"],
                       check=True, stdout=subprocess.DEVNULL)
    return run_sluice_socket(sluice, '{ type: otlp, address: "127.0.0.1:0" }',
                             lambda log_path: logged_port(log_path, "listening"), feed, lines, work)


def run_sluice_file(sluice, corpus, lines, work):
    """The `file` source reading the corpus from its beginning (a hard link to it in the run's
    directory), into a blackhole; timed from spawning Sluice to the last event counted, with
    `/metrics` polled every 10 ms (at 2 ms the polling cost Sluice 0.1 CPU-seconds per run)."""
    logs = os.path.join(work, "logs")
    os.makedirs(logs)
    target = os.path.join(logs, "app.log")
    try:
        os.link(corpus, target)
    except OSError:
        shutil.copyfile(corpus, target)
    config = write(work, "file.yaml", [
        "data_dir: %s/data" % work,
        'sources: { app: { type: file, include: ["%s/*.log"] } }' % logs,
        "sinks: { discard: { type: blackhole } }",
    ])
    return run_sluice_counted(sluice, config, lines, work, poll=0.010)


def run_sluice_unix_writers(sluice, corpus, lines, work, writers=100):
    """A Unix stream socket fed by `writers` concurrent clients, each sending its own
    line-aligned slice of the corpus with sendfile(2) (the feeding costs the kernel, not Python)."""
    path = os.path.join(work, "sluice.sock")
    size = os.path.getsize(corpus)
    with open(corpus, "rb") as f:
        cuts = [0]
        for index in range(1, writers):
            f.seek(size * index // writers)
            f.readline()
            cuts.append(max(f.tell(), cuts[-1]))
        cuts.append(size)

    def send_slice(begin, end):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client, open(corpus, "rb") as f:
            client.connect(path)
            offset = begin
            while offset < end:
                offset += os.sendfile(client.fileno(), f.fileno(), offset, end - offset)

    def listening(log_path):
        logged_line(log_path, "listening")
        return path

    def feed(_):
        threads = [threading.Thread(target=send_slice, args=(cuts[i], cuts[i + 1])) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return run_sluice_socket(sluice, '{ type: unix, path: "%s", max_connections: %d }' % (path, writers),
                             listening, feed, lines, work)


def sluice_env():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    environment["SLUICE_METRICS_ENABLED"] = "false"
    return environment


def write(work, name, lines):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ scenarios

class FakeIndexer:
    """fake_bulk_server.py on a free port, for the elasticsearch scenarios."""

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_bulk_server.py"), str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the fake indexer did not start")

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()


NATS_VENV = os.path.join(ROOT, ".build", "nats-venv", "bin")


class NATSServer:
    """A nats-server (`.ci/setup --tests` installs it in .build/nats-venv) with JetStream, its
    defaults otherwise (one node, so the stream has one replica), in a scratch directory, with the
    stream LOGS on `logs.>`: one per run, so every run starts from an empty stream."""

    def __init__(self, work):
        self.work = work

    def __enter__(self):
        server = os.path.join(NATS_VENV, "nats-server")
        if not os.access(server, os.X_OK):
            raise RuntimeError("no %s: `.ci/setup --tests` installs it" % server)
        self.port = free_port()
        self.process = subprocess.Popen([server, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", os.path.join(self.work, "nats")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        script = ("import asyncio, nats\n"
                  "async def main():\n"
                  "    nc = await nats.connect('nats://127.0.0.1:%d', connect_timeout=10)\n"
                  "    await nc.jetstream().add_stream(name='LOGS', subjects=['logs.>'])\n"
                  "    await nc.close()\n"
                  "asyncio.run(main())\n" % self.port)
        end = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > end:
                    raise RuntimeError("nats-server did not start")
                time.sleep(0.05)
        subprocess.run([os.path.join(NATS_VENV, "python3"), "-c", script], check=True)
        return self

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()


NATS_SINK = '{{ type: nats, servers: ["nats://127.0.0.1:{port}"], subject: "logs.{{source}}", jetstream: {{ stream: LOGS }} }}'


def run_sluice_nats_sink(sluice, corpus, lines, work):
    """stdin → `nats` sink (JetStream, every publish acknowledged) on a fresh server."""
    with NATSServer(work) as server:
        config = write(work, "nats.yaml", ["sources: { app: { type: stdin } }", "sinks:",
                                           "  bus: %s" % NATS_SINK.format(port=server.port)])
        return run_sluice_stdin(sluice, config, corpus, work, expect_out=lines)


def run_sluice_nats_source(sluice, corpus, lines, work):
    """The stream filled by a `nats` sink (not timed), then the `nats` source → blackhole, timed
    from spawning Sluice to the last event counted."""
    with NATSServer(work) as server:
        config = write(work, "fill.yaml", ["sources: { app: { type: stdin } }", "sinks:",
                                           "  bus: %s" % NATS_SINK.format(port=server.port)])
        run_sluice_stdin(sluice, config, corpus, work, expect_out=lines)
        config = write(work, "read.yaml", [
            'sources: { bus: { type: nats, servers: ["nats://127.0.0.1:%d"], jetstream: { stream: LOGS, consumer: bench } } }' % server.port,
            "sinks: { discard: { type: blackhole } }"])
        return run_sluice_counted(sluice, config, lines, work)


# Sinks in YAML flow style, formatted with the run's work directory and the indexer's port.
ARCHIVE = '{{ type: archive, path: "{work}/out/{{source}}.ndjson.gz", gzip_level: LEVEL }}'
SEARCH = '{{ type: elasticsearch, endpoint: "http://127.0.0.1:{port}", compression: gzip }}'
# The fake indexer answers 200 to any POST, which an OTLP receiver's empty success is to Sluice.
OTLP = '{{ type: otlp, endpoint: "http://127.0.0.1:{port}", compression: gzip }}'
# Three rules of the kinds people write: a burst of errors, slow requests per service, and a
# regex over messages of one service.
ALERT = ("{{ type: alert, notifiers: {{}}, rules: ["
         "{{ name: errors, when: 'level >= error', threshold: 100, window: 1m, cooldown: 5m }}, "
         "{{ name: slow, when: 'dur_ms > 900', threshold: 50, window: 1m, group_by: [svc] }}, "
         "{{ name: payments, when: 'svc == \"payments\" and msg =~ /fail|timeout/i' }}] }}")

# The micro benchmark's twenty rules (ExpressionBenchmarks.swift), five with regexes, every
# other one grouped by service: the alert sink's goal is set on this shape.
ALERT_20_CONDITIONS = [
    "level >= error", "status >= 500", "status == 404", "dur_ms > 100", 'svc == "checkout"',
    'level == warn and svc == "auth"', "exists(error)", 'error.kind == "UpstreamError"', "status == 429",
    'ctx.region == "eu-west-1" and level >= warn', "dur_ms > 250 and status < 400", 'svc == "billing" and status >= 400',
    'level == debug and svc == "search"', "not exists(ctx)", "status >= 300 and status < 400",
    "msg =~ /timeout|refused/", r"path =~ /^\/api\/v2\//", "ua =~ /curl/", "msg =~ /pool exhausted/", "ctx.region =~ /^ap-/",
]
ALERT_20 = "{{ type: alert, notifiers: {{}}, rules: [%s] }}" % ", ".join(
    "{{ name: rule%d, when: '%s', threshold: 100, window: 1m%s }}" % (index, condition, ", group_by: [svc]" if index % 2 == 0 else "")
    for index, condition in enumerate(ALERT_20_CONDITIONS))


def sluice_case(source="{ type: stdin }", transforms=None, **sinks):
    """A scenario: stdin (`source`, a YAML flow mapping) into the named sinks (disk buffers under
    the run's work directory), through `transforms` (a YAML flow mapping) when given."""
    def run(context, corpus, lines, work, port):
        config = write(work, "case.yaml", ["data_dir: %s/data" % work, "sources: { app: %s }" % source]
                       + (["transforms: %s" % transforms] if transforms else []) + ["sinks:"] + [
            "  %s: %s" % (name, sink.format(work=work, port=port)) for name, sink in sinks.items()])
        return run_sluice_stdin(context.sluice, config, corpus, work, expect_out=lines)
    return run


# The transforms issue's shapes: four redaction patterns over every field, and field reshaping.
SCRUB = ("{ scrub: { inputs: [app], steps: [{ redact: { patterns: [credit_card, email, bearer_token, aws_key], "
         "fields: ['*'] } }] } }")
RESHAPE = ("{ shape: { inputs: [app], steps: [{ remove: [ctx.region, ua] }, { rename: { msg: message, svc: service } }, "
           "{ set: { env: prod, 'service.version': '1.4.2' } }] } }")

# id -> (flavour, reference id or None, how to run)
SCENARIOS = {
    "stdin-blackhole/json": ("json", "cat", sluice_case(discard="{{ type: blackhole }}")),
    "stdin-blackhole/text": ("text", "cat", sluice_case(discard="{{ type: blackhole }}")),
    "stdin-blackhole/logfmt": ("logfmt", "cat", sluice_case(source="{ type: stdin, format: logfmt }", discard="{{ type: blackhole }}")),
    "stdin-console/json": ("json", "cat", sluice_case(console="{{ type: console }}")),
    "stdin-archive-gzip1/json": ("json", "pigz -p 2 -1", sluice_case(archive=ARCHIVE.replace("LEVEL", "1"))),
    "stdin-archive-gzip6/json": ("json", "pigz -p 2 -6", sluice_case(archive=ARCHIVE.replace("LEVEL", "6"))),
    "stdin-archive-gzip6/text": ("text", "pigz -p 2 -6", sluice_case(archive=ARCHIVE.replace("LEVEL", "6"))),
    "tcp-blackhole/text": ("text", "cat", None),
    "tcp-blackhole/json": ("json", "cat", None),
    "unix-100-writers-blackhole/text": ("text", "cat", None),
    "unix-100-writers-blackhole/json": ("json", "cat", None),
    # OTLP/HTTP into the `otlp` source, 1,000-record protobuf requests over 4 connections.
    "otlp-source-blackhole/json": ("json", None, None),
    # A file read from its beginning by the `file` source, against stdin on the same corpus.
    "file-blackhole/json": ("json", "stdin-blackhole/json", None),
    "stdin-elasticsearch/json": ("json", None, sluice_case(search=SEARCH)),
    "stdin-otlp/json": ("json", "stdin-elasticsearch/json", sluice_case(otel=OTLP)),
    # Through a disk buffer: appended by the ring reader, read back and handed to the sink.
    "stdin-disk-interval-blackhole/json": ("json", "stdin-blackhole/json", sluice_case(
        discard="{{ type: blackhole, buffer: {{ type: disk, max_bytes: 4GiB, sync: interval }} }}")),
    "stdin-disk-always-blackhole/json": ("json", "stdin-blackhole/json", sluice_case(
        discard="{{ type: blackhole, buffer: {{ type: disk, max_bytes: 4GiB, sync: always }} }}")),
    "stdin-disk-elasticsearch/json": ("json", "stdin-elasticsearch/json", sluice_case(
        search=SEARCH.replace("compression: gzip", "compression: gzip, buffer: {{ type: disk, max_bytes: 4GiB }}"))),
    # JetStream on one local nats-server, every publish acknowledged; then read back.
    "stdin-nats/json": ("json", "stdin-elasticsearch/json", None),
    "nats-source-blackhole/json": ("json", "stdin-blackhole/json", None),
    "stdin-alert/json": ("json", None, sluice_case(alerts=ALERT)),
    "stdin-alert-20-rules/json": ("json", None, sluice_case(alerts=ALERT_20)),
    "stdin-scrub-blackhole/json": ("json", "stdin-blackhole/json", sluice_case(
        transforms=SCRUB, discard="{{ type: blackhole, inputs: [scrub] }}")),
    "stdin-reshape-blackhole/json": ("json", "stdin-blackhole/json", sluice_case(
        transforms=RESHAPE, discard="{{ type: blackhole, inputs: [shape] }}")),
    "fanout-archive+elasticsearch+alert/json": ("json", "slowest sink alone", sluice_case(
        archive=ARCHIVE.replace("LEVEL", "6"), search=SEARCH, alerts=ALERT)),
}
FANOUT_PARTS = ["stdin-archive-gzip6/json", "stdin-elasticsearch/json", "stdin-alert/json"]

# Fluent Bit 5.1.1, carried into any run without building it: in five interleaved rounds here
# (../shared/bench/results/side-by-side-2026-11-30.md) its time was this multiple of `gzip -1`'s
# on the same corpus. A scenario listed here also gets `gzip -1` measured and reports
# `fluent_bit_ratio`: Fluent Bit's time so estimated over Sluice's.
FLUENT_BIT_YARDSTICK = {"stdin-blackhole/json": 1.32, "tcp-blackhole/text": 0.63}

REFERENCES = {
    "cat": ["cat"],
    "gzip -1": ["gzip", "-1"],
    "gzip -6": ["gzip", "-6"],
    "pigz -p 2 -1": ["pigz", "-p", "2", "-1"],
    "pigz -p 2 -6": ["pigz", "-p", "2", "-6"],
}


# ------------------------------------------------------------------ reporting

def summarise(name, kind, flavour, runs, lines, size):
    seconds = [r.seconds for r in runs]
    median = statistics.median(seconds)
    middle = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return {
        "id": name, "kind": kind, "flavour": flavour, "reps": len(runs),
        "median_s": median, "min_s": min(seconds), "max_s": max(seconds),
        "lines_per_s": lines / median, "mb_per_s": size / median / 1e6,
        "cpu_s": statistics.median(r.cpu for r in runs),
        "rss_mib": statistics.median(r.rss_kib for r in runs) / 1024,
        "check": middle.check,
    }


def render(rows):
    out = ["| scenario | corpus | median s (min-max) | lines/s | MB/s | CPU s | peak RSS MiB | reference | reference s / Sluice s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        reference, ratio = row.get("reference") or "", ""
        if row.get("ratio") is not None:
            ratio = "%.2f×" % row["ratio"]
        if row.get("fluent_bit_ratio") is not None:
            reference += (" / " if reference else "") + "Fluent Bit (1.32× or 0.63× `gzip -1`)"
            ratio += (" / " if ratio else "") + "%.2f×" % row["fluent_bit_ratio"]
        out.append("| %s | %s | %.3f (%.3f-%.3f) | %s | %.0f | %.2f | %.1f | %s | %s |" % (
            row["id"].split("/")[0] if row["kind"] == "sluice" else row["id"], row["flavour"],
            row["median_s"], row["min_s"], row["max_s"], format(round(row["lines_per_s"]), ","),
            row["mb_per_s"], row["cpu_s"], row["rss_mib"], reference, ratio))
    return "\n".join(out)


# ------------------------------------------------------------------ main

class Context:
    pass


def ensure_corpus(workdir, flavour, lines):
    directory = os.path.join(workdir, "corpus")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "corpus.%s.%d.log" % (flavour, lines))
    if not os.path.exists(path):
        subprocess.check_call([sys.executable, os.path.join(SHARED_BENCH, "gen_corpus.py"),
                               "--flavour", flavour, "--lines", str(lines), "--out", path])
    return path


def run_peers(args, workdir):
    """rsyslog and syslog-ng through bench.py, when installed: the same corpora, same run."""
    if args.no_peers or not os.path.exists(os.path.join(SHARED_BENCH, "bench.py")):
        return []
    output = os.path.join(workdir, "peers.json")
    environment = dict(os.environ, QUIET_MAX_WAIT=os.environ.get("QUIET_MAX_WAIT", "20"))
    command = [sys.executable, os.path.join(SHARED_BENCH, "bench.py"), "--lines", str(args.lines),
               "--reps", str(args.reps), "--workdir", workdir, "--only", args.peers, "--json", output]
    if subprocess.run(command, env=environment, stdout=subprocess.DEVNULL).returncode != 0 or not os.path.exists(output):
        print("peers: bench.py failed or found no tool; skipped", file=sys.stderr)
        return []
    return json.load(open(output))["summary"]


def outage_rss(sluice, corpus, work, seconds=60):
    """RSS of a stdin -> elasticsearch Sluice fed without end while its indexer is down for
    `seconds`, then while it recovers: (peak during outage, peak overall) in MiB."""
    port = free_port()
    config = write(work, "outage.yaml", [
        "sources: { app: { type: stdin } }",
        'sinks: { search: { type: elasticsearch, endpoint: "http://127.0.0.1:%d", compression: gzip } }' % port,
    ])
    feeder = subprocess.Popen("while :; do cat '%s'; done" % corpus, shell=True, stdout=subprocess.PIPE)
    process = subprocess.Popen([sluice, "--config", config], stdin=feeder.stdout, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=sluice_env())
    feeder.stdout.close()

    def rss():
        with open("/proc/%d/status" % process.pid) as status:
            return int(next(l for l in status if l.startswith("VmRSS")).split()[1]) / 1024
    time.sleep(5)  # start-up, and the ring filling until the sink holds the source back
    during = []
    end = time.time() + seconds
    while time.time() < end:
        during.append(rss())
        time.sleep(1)
    after = []
    with FakeIndexerAt(port):
        for _ in range(15):
            after.append(rss())
            time.sleep(1)
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    feeder.kill()
    process.wait()
    return {"outage_s": seconds, "rss_mib_outage_min": round(min(during), 1), "rss_mib_outage_max": round(max(during), 1),
            "rss_mib_recovered_max": round(max(after), 1)}


class FakeIndexerAt(FakeIndexer):
    def __init__(self, port):
        self.fixed = port

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_bulk_server.py"), str(self.fixed)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/logbench")
    parser.add_argument("--sluice", default=os.path.join(ROOT, ".build", "release", "sluice"))
    parser.add_argument("--only", help="regex over scenario ids")
    parser.add_argument("--peers", default="/(rsyslog|syslog-ng)/", help="bench.py --only regex for the routers run beside Sluice")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--outage", action="store_true", help="also measure RSS across a 60 s indexer outage")
    parser.add_argument("--startup", action="store_true", help="also run startup_idle.py")
    parser.add_argument("--tail", action="store_true", help="also run file_tail_load.py (100 files appended at 10,000 lines/s each)")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    args = parser.parse_args()

    if not os.access(args.sluice, os.X_OK):
        sys.exit("no release binary at %s: run `swift build -c release --static-swift-stdlib --product sluice` first" % args.sluice)
    context = Context()
    context.sluice = args.sluice
    scenarios = {k: v for k, v in SCENARIOS.items() if not args.only or re.search(args.only, k)}
    if any(k.startswith("fanout") for k in scenarios):
        for part in FANOUT_PARTS:
            scenarios.setdefault(part, SCENARIOS[part])
    # A scenario measured against another runs with it (stdin first, then the file source).
    for _, reference, _ in list(scenarios.values()):
        if reference in SCENARIOS and reference not in scenarios:
            scenarios = {reference: SCENARIOS[reference], **scenarios}
    flavours = sorted({flavour for flavour, _, _ in scenarios.values()})
    corpora = {flavour: ensure_corpus(args.workdir, flavour, args.lines) for flavour in flavours}
    sizes = {flavour: os.path.getsize(path) for flavour, path in corpora.items()}
    needed = {(flavour, reference) for flavour, reference, _ in scenarios.values() if reference in REFERENCES}
    needed |= {(flavour, "gzip -" + r.split()[-1][1:]) for flavour, r in needed if r.startswith("pigz")}
    needed |= {(scenarios[name][0], "gzip -1") for name in FLUENT_BIT_YARDSTICK if name in scenarios}

    results, by_id = [], {}
    with FakeIndexer() as indexer:
        for flavour, reference in sorted(needed):
            runs = [run_reference(REFERENCES[reference], corpora[flavour]) for _ in range(args.reps)]
            row = summarise(reference, "reference", flavour, runs, args.lines, sizes[flavour])
            by_id[(reference, flavour)] = row
            results.append(row)
            print("%-45s %s %.3fs" % (reference, flavour, row["median_s"]), file=sys.stderr)
        for name, (flavour, reference, run) in scenarios.items():
            runs = []
            for _ in range(args.reps):
                work = tempfile.mkdtemp(prefix="sluice-bench-")
                try:
                    if name.startswith("tcp-"):
                        runs.append(run_sluice_tcp(args.sluice, corpora[flavour], args.lines, work))
                    elif name.startswith("otlp-source"):
                        runs.append(run_sluice_otlp(args.sluice, corpora[flavour], args.lines, work))
                    elif name == "stdin-nats/json":
                        runs.append(run_sluice_nats_sink(args.sluice, corpora[flavour], args.lines, work))
                    elif name.startswith("nats-source"):
                        runs.append(run_sluice_nats_source(args.sluice, corpora[flavour], args.lines, work))
                    elif name.startswith("file-"):
                        runs.append(run_sluice_file(args.sluice, corpora[flavour], args.lines, work))
                    elif name.startswith("unix-100-writers"):
                        runs.append(run_sluice_unix_writers(args.sluice, corpora[flavour], args.lines, work))
                    else:
                        runs.append(run(context, corpora[flavour], args.lines, work, indexer.port))
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            row = summarise(name, "sluice", flavour, runs, args.lines, sizes[flavour])
            row["reference"] = reference
            if reference in REFERENCES:
                row["ratio"] = by_id[(reference, flavour)]["median_s"] / row["median_s"]
                if reference.startswith("pigz"):
                    gzip = "gzip -" + reference.split()[-1][1:]
                    row["ratio_to_" + gzip.replace(" ", "")] = by_id[(gzip, flavour)]["median_s"] / row["median_s"]
            if name in FLUENT_BIT_YARDSTICK:
                fluent_bit_s = FLUENT_BIT_YARDSTICK[name] * by_id[("gzip -1", flavour)]["median_s"]
                row["fluent_bit_ratio"] = fluent_bit_s / row["median_s"]
                print("%-45s Fluent Bit by the yardstick: %.2fs, Sluice %.2fx" % (name, fluent_bit_s, row["fluent_bit_ratio"]), file=sys.stderr)
            by_id[(name, flavour)] = row
            results.append(row)
            print("%-45s %s %.3fs cpu %.2fs rss %.1f MiB %s" % (name, flavour, row["median_s"], row["cpu_s"], row["rss_mib"], row["check"]), file=sys.stderr)
    for row in results:
        if row.get("reference") in SCENARIOS and (row["reference"], row["flavour"]) in by_id:
            row["ratio"] = by_id[(row["reference"], row["flavour"])]["median_s"] / row["median_s"]
        if row["id"].startswith("fanout"):
            slowest = max(by_id[(part, "json")]["median_s"] for part in FANOUT_PARTS)
            row["ratio"] = slowest / row["median_s"]

    peers = run_peers(args, args.workdir)
    extra = {}
    if args.outage:
        work = tempfile.mkdtemp(prefix="sluice-outage-")
        extra["outage"] = outage_rss(args.sluice, corpora.get("json") or ensure_corpus(args.workdir, "json", args.lines), work)
        shutil.rmtree(work, ignore_errors=True)
    if args.startup:
        output = subprocess.run([sys.executable, os.path.join(HERE, "startup_idle.py"), "--sluice", args.sluice],
                                capture_output=True, text=True)
        extra["startup_idle"] = output.stdout.strip()

    if args.tail:
        output = subprocess.run([sys.executable, os.path.join(HERE, "file_tail_load.py"), "--sluice", args.sluice,
                                 "--corpus", corpora.get("json") or ensure_corpus(args.workdir, "json", args.lines)],
                                capture_output=True, text=True, check=True)
        extra["file_tail"] = json.loads(output.stdout)

    table = render(results)
    machine = "%s, %d cores, %s" % (os.uname().release, os.cpu_count(), subprocess.run(
        ["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], capture_output=True, text=True).stdout.strip())
    report = ["Sluice end-to-end benchmarks: %d lines per corpus, %d reps, medians (min-max)." % (args.lines, args.reps),
              "Machine: %s. Date: %s." % (machine, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), "", table]
    if peers:
        report += ["", "Routers run beside Sluice in the same session (bench.py):", "",
                   "| scenario | tool | corpus | processing | median s (min-max) | lines/s | MB/s | CPU s | peak RSS MiB |",
                   "|---|---|---|---|---|---|---|---|---|"]
        for peer in peers:
            report.append("| %s | %s | %s | %s | %.3f (%.3f-%.3f) | %s | %.0f | %.2f | %.1f |" % (
                peer["scenario"], peer["tool"], peer["flavour"], peer["label"], peer["median_s"], peer["min_s"],
                peer["max_s"], format(round(peer["lines_per_s"]), ","), peer["mb_per_s"], peer["cpu_s"], peer["rss_mb"]))
    for key, value in extra.items():
        report += ["", "%s: %s" % (key, json.dumps(value) if not isinstance(value, str) else value)]
    print("\n".join(report))
    if args.markdown:
        os.makedirs(os.path.dirname(os.path.abspath(args.markdown)), exist_ok=True)
        with open(args.markdown, "w") as f:
            f.write("\n".join(report) + "\n")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"lines": args.lines, "reps": args.reps, "machine": machine, "results": results,
                       "peers": peers, **extra}, f, indent=1)


if __name__ == "__main__":
    main()
