#!/usr/bin/env python3
"""Draws the README's throughput chart (SVG, no dependencies) from a harness.py JSON file and
the reference figures in ../shared/bench/results/anchors-1M.md.

    python3 Benchmarks/scripts/chart.py Benchmarks/results/latest.json Benchmarks/results/throughput.svg

One group per scenario, one bar per tool, lines per second on a common linear scale. Sluice's
bars and the references of this run are measured together; the Fluent Bit, syslog-ng and
rsyslog bars marked "anchor" come from the anchors file (same machine kind, another session).
"""
import json
import os
import re
import sys
from html import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ANCHORS = os.path.abspath(os.path.join(HERE, "..", "..", "..", "shared", "bench", "results", "anchors-1M.md"))

# (group title, Sluice scenario id, anchors scenario, corpus, references of this run)
GROUPS = [
    ("stdin JSON → discard", "stdin-blackhole/json", "stdin-null", "json", []),
    ("TCP text → discard", "tcp-blackhole/text", "tcp-null", "text", []),
    ("stdin JSON → file", "stdin-console/json", "stdin-file", "json", []),
    ("stdin JSON → gzip 6 archive", "stdin-archive-gzip6/json", "stdin-gzip", "json", ["gzip -6", "pigz -p 2 -6"]),
]
COLOURS = {"Sluice": "#1f6feb", "fluent-bit": "#8b949e", "rsyslog": "#bf8700", "syslog-ng": "#8250df",
           "gzip -6": "#57606a", "pigz -p 2 -6": "#57606a"}


def anchors():
    """{(scenario, tool, corpus): lines/s} from the anchors file's router table."""
    rows = {}
    if not os.path.exists(ANCHORS):
        return rows
    for line in open(ANCHORS):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and re.fullmatch(r"[\d,]+", cells[6] or "x"):
            rows[(cells[0], cells[1], cells[2])] = float(cells[6].replace(",", ""))
    return rows


def bars(results):
    measured = {(r["id"], r["flavour"]): r for r in results["results"]}
    peers = {(p["scenario"], p["tool"], p["flavour"]): p["lines_per_s"] for p in results.get("peers", [])}
    anchor = anchors()
    groups = []
    for title, sluice_id, scenario, corpus, references in GROUPS:
        entries = []
        if (sluice_id, corpus) in measured:
            entries.append(("Sluice", measured[(sluice_id, corpus)]["lines_per_s"], ""))
        for reference in references:
            if (reference, corpus) in measured:
                entries.append((reference, measured[(reference, corpus)]["lines_per_s"], "CLI"))
        for tool in ("fluent-bit", "rsyslog", "syslog-ng"):
            if (scenario, tool, corpus) in peers:
                entries.append((tool, peers[(scenario, tool, corpus)], "this run"))
            elif (scenario, tool, corpus) in anchor:
                entries.append((tool, anchor[(scenario, tool, corpus)], "anchor"))
        if entries:
            groups.append((title, entries))
    return groups


def svg(groups, caption):
    width, label_width, bar_height, gap = 760, 190, 18, 4
    top = 40
    height = top + sum(24 + len(entries) * (bar_height + gap) + 10 for _, entries in groups) + 30
    peak = max(value for _, entries in groups for _, value, _ in entries)
    scale = (width - label_width - 140) / peak
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="22" font-size="15" font-weight="bold">%s</text>' % escape(caption)]
    y = top
    for title, entries in groups:
        out.append('<text x="10" y="%d" font-weight="bold">%s</text>' % (y + 14, escape(title)))
        y += 24
        for tool, value, note in entries:
            colour = COLOURS.get(tool, "#57606a")
            label = tool + (" (%s)" % note if note else "")
            out.append('<text x="20" y="%d">%s</text>' % (y + 13, escape(label)))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (label_width, y, max(1, value * scale), bar_height, colour))
            out.append('<text x="%.1f" y="%d">%s lines/s</text>' % (label_width + value * scale + 6, y + 13, format(round(value), ",")))
            y += bar_height + gap
        y += 10
    out.append('<text x="10" y="%d" fill="#57606a">1,000,000-line corpora from gen_corpus.py; medians; 2-core VM. '
               '"anchor": ../shared/bench/results/anchors-1M.md.</text>' % (y + 10))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results = json.load(open(sys.argv[1]))
    groups = bars(results)
    with open(sys.argv[2], "w") as f:
        f.write(svg(groups, "Lines per second, higher is better (median of %d runs)" % results["reps"]))


if __name__ == "__main__":
    main()
