#!/usr/bin/env python3
"""Writes Sources/sluice/link-order.txt: the functions a release `sluice` runs in its common
scenarios, hottest first, which the linker (lld's --symbol-ordering-file, set in
Package.swift) places together at the start of the executable's code.

Why: the kernel maps a program's code in 64 KiB windows around each page it touches
(fault-around). Sluice links about 24 MB of code (Swift runtime and standard library in the
static build, SwiftNIO, the HTTP client, TLS, YAML), and the few thousand functions a run
uses were spread over most of it: about 10 MiB of code stayed resident. Laid out together
they fill a few hundred windows instead.

The list is a layout hint, not a correctness input: a function missing from it (renamed, new)
is placed after the listed ones as before. Regenerate it after large changes:

    swift build -c release --static-swift-stdlib --product sluice
    python3 Benchmarks/scripts/link_order.py

SwiftPM does not see the file as an input of the link: remove a built `sluice` to have it linked
again in the new order.

Needs valgrind (callgrind) and the corpora of ../shared/bench/gen_corpus.py (see harness.py).
The release build (static: the Swift runtime and standard library inside) is profiled, so the
list orders the standard library's functions as well; a build without --static-swift-stdlib
uses the same list.
"""

import argparse
import collections
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (the scenarios' sink configurations and the fake indexer)

LINES = 20_000


def callgrind(binary, output, args, **popen):
    return subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", "--callgrind-out-file=" + output,
                             binary] + args, **popen)


def stdin_scenario(name, flavour, sinks):
    def run(binary, work, corpora, port):
        config = harness.write(work, name + ".yaml", ["sources: { app: { type: stdin } }", "sinks:"] + [
            "  %s: %s" % (sink, spec.format(work=work, port=port)) for sink, spec in sinks.items()])
        output = os.path.join(work, name + ".out")
        with open(corpora[flavour]) as feed:
            process = callgrind(binary, output, ["--config", config], stdin=feed,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if process.wait() != 0:
                raise RuntimeError("%s: sluice exited %d" % (name, process.returncode))
        return output
    return run


def tcp_scenario(binary, work, corpora, _port):
    """TCP text into a blackhole, with one /metrics scrape, ended by SIGTERM."""
    source, metrics = harness.free_port(), harness.free_port()
    config = harness.write(work, "tcp.yaml", [
        "sources: { net: { type: tcp, address: \"127.0.0.1:%d\" } }" % source,
        "sinks: { discard: { type: blackhole } }",
        "metrics: { address: \"127.0.0.1:%d\" }" % metrics])
    output = os.path.join(work, "tcp.out")
    process = callgrind(binary, output, ["--config", config], stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while True:
        try:
            connection = socket.create_connection(("127.0.0.1", source), timeout=5)
            break
        except OSError:
            if time.time() > deadline:
                process.kill()
                raise RuntimeError("the tcp source never listened")
            time.sleep(0.2)
    with connection, open(corpora["text"], "rb") as feed:
        connection.sendall(feed.read())
    time.sleep(2)
    urllib.request.urlopen("http://127.0.0.1:%d/metrics" % metrics, timeout=30).read()
    process.send_signal(signal.SIGTERM)
    if process.wait(timeout=120) != 0:
        raise RuntimeError("tcp: sluice exited %d" % process.returncode)
    return output


SCENARIOS = {
    "json-blackhole": stdin_scenario("json-blackhole", "json", {"discard": "{{ type: blackhole }}"}),
    "text-blackhole": stdin_scenario("text-blackhole", "text", {"discard": "{{ type: blackhole }}"}),
    "json-console": stdin_scenario("json-console", "json", {"console": "{{ type: console }}"}),
    "json-archive": stdin_scenario("json-archive", "json", {"archive": harness.ARCHIVE.replace("LEVEL", "6")}),
    "json-alert": stdin_scenario("json-alert", "json", {"alerts": harness.ALERT}),
    "json-elasticsearch": stdin_scenario("json-elasticsearch", "json", {"search": harness.SEARCH}),
    "tcp-text-blackhole": tcp_scenario,
}


def self_costs(path):
    """Function name -> self cost (instructions) from a callgrind output file."""
    names, costs = {}, collections.Counter()
    current, skip_next = None, False
    for line in open(path, errors="replace"):
        if line.startswith(("fn=", "cfn=")):
            match = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if match.group(2):
                names[match.group(1)] = match.group(2)
            if line.startswith("fn="):
                current = names.get(match.group(1))
        elif line.startswith("calls="):
            skip_next = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
            elif current:
                parts = line.split()
                costs[current] += int(parts[1]) if len(parts) > 1 else 0
    # Called-only functions (no own cost line) still ran: keep them at zero cost.
    for name in names.values():
        costs.setdefault(name, 0)
    return costs


def defined_symbols(binary):
    """The functions the executable defines (not libc's, zlib's or the vDSO's)."""
    return set(subprocess.run(["nm", "--defined-only", "--format=just-symbols", binary],
                              capture_output=True, text=True, check=True).stdout.split())


def check(binary, listing):
    """Says how stale the list is: the linker skips names it does not find without a word
    (--no-warn-symbol-ordering), so a list that no longer matches the code would go unnoticed."""
    with open(listing) as file:
        listed = [line.strip() for line in file if line.strip()]
    defined = defined_symbols(binary)
    missing = [name for name in listed if name not in defined]
    share = 100.0 * len(missing) / max(1, len(listed))
    print("link order: %d of %d listed functions are no longer in %s (%.1f%%)%s" % (
        len(missing), len(listed), os.path.relpath(binary, ROOT), share,
        "; regenerate it (Benchmarks/scripts/link_order.py)" if share > 10 else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sluice", default=os.path.join(ROOT, ".build", "release", "sluice"))
    parser.add_argument("--corpus-dir", default="/tmp/logbench/corpus")
    parser.add_argument("--output", default=os.path.join(ROOT, "Sources", "sluice", "link-order.txt"))
    parser.add_argument("--check", action="store_true",
                        help="only say how many listed functions the built binary no longer has (CI runs this)")
    args = parser.parse_args()
    if args.check:
        check(args.sluice, args.output)
        return
    if not shutil.which("valgrind"):
        sys.exit("valgrind is needed (apt-get install valgrind)")

    work = tempfile.mkdtemp(prefix="sluice-link-order-")
    # valgrind 3.19 cannot read the DWARF 5 the toolchain writes; the symbol table is enough.
    binary = os.path.join(work, "sluice")
    subprocess.run(["strip", "--strip-debug", "-o", binary, args.sluice], check=True)
    corpora = {}
    for flavour in ("json", "text"):
        source = os.path.join(args.corpus_dir, "corpus.%s.1000000.log" % flavour)
        corpora[flavour] = os.path.join(work, flavour + ".log")
        with open(source) as full, open(corpora[flavour], "w") as head:
            for _, line in zip(range(LINES), full):
                head.write(line)

    weights = collections.defaultdict(float)
    with harness.FakeIndexer() as indexer:
        for name, run in SCENARIOS.items():
            costs = self_costs(run(binary, work, corpora, indexer.port))
            total = sum(costs.values()) or 1
            for function, cost in costs.items():
                weights[function] = max(weights[function], cost / total)
            print("%-20s %6d functions ran" % (name, len(costs)), file=sys.stderr)

    # Only the executable's own functions (not libc's, zlib's or the vDSO's) can be placed.
    defined = defined_symbols(binary)
    ordered = sorted((function for function in weights if function in defined),
                     key=lambda function: (-weights[function], function))
    with open(args.output, "w") as output:
        output.write("\n".join(ordered) + "\n")
    print("%d functions -> %s" % (len(ordered), os.path.relpath(args.output, ROOT)), file=sys.stderr)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
