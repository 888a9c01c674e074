#!/usr/bin/env python3
"""Turns package-benchmark's text output into the README's table: p50/p99 and ratios to the floor.

Usage: scripts/bench-report.py < benchmark-output.txt
Floors: Freeze:Signal/* and Freeze:Cgroup/* are divided by Freeze:RawKill/* of the same direction and size
(measured in the same run); Invoke:Warm/* by Invoke:Floor(2xRTT). Orchestrator:ScaleOut/* (milliseconds) and
the Invoke:Throughput/* rates (invokes/s, whose p99 is the slow end) have no floor and get a second table.
"""
import re
import sys

results = {}
rates = {}
name = None
for line in sys.stdin:
    line = line.strip()
    if re.match(r"^(Freeze|Invoke|Orchestrator):\S+$", line):
        name = line
    elif name and ("Time (wall clock)" in line or line.startswith("│ Invokes/s")):
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        # Metric, p0, p25, p50, p75, p90, p99, p100, samples
        values = [float(c) for c in cells[1:8]]
        entry = {"p50": values[2], "p99": values[5], "samples": int(cells[8])}
        if "Invokes/s" in cells[0]:
            rates[name] = entry
        else:
            unit = re.search(r"\((\w+)\)", cells[0].replace("Time (wall clock)", ""))
            entry["unit"] = unit.group(1).replace("μ", "µ") if unit else "µs"
            results[name] = entry


def floor_of(benchmark):
    if benchmark.startswith("Freeze:Signal/") or benchmark.startswith("Freeze:Cgroup/"):
        return "Freeze:RawKill/" + benchmark.split("/", 1)[1]
    if benchmark.startswith("Invoke:Warm/"):
        return "Invoke:Floor(2xRTT)"
    return None


for benchmark, r in results.items():
    # Throughput runs without the Invokes/s row: the scaled wall clock is µs per invoke.
    if benchmark.startswith("Invoke:Throughput/") and benchmark not in rates and r["p50"] > 0 and r["p99"] > 0:
        rates[benchmark] = {"p50": 1e6 / r["p50"], "p99": 1e6 / r["p99"], "samples": r["samples"]}
latency = {b: r for b, r in results.items() if b not in rates and r["unit"] == "µs"}
if latency:
    print("| Benchmark | p50 (µs) | p99 (µs) | floor p50 (µs) | p50 ÷ floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
for benchmark in sorted(latency):
    r = latency[benchmark]
    floor = floor_of(benchmark)
    if floor and floor in latency and latency[floor]["p50"] > 0:
        f = latency[floor]["p50"]
        print(f"| {benchmark} | {r['p50']:.0f} | {r['p99']:.0f} | {f:.0f} | {r['p50'] / f:.2f} |")
    else:
        print(f"| {benchmark} | {r['p50']:.0f} | {r['p99']:.0f} | — | floor |")

others = {b: (rates[b], "invokes/s") for b in rates}
others.update({b: (r, r["unit"]) for b, r in results.items() if b not in rates and r["unit"] != "µs"})
if others:
    if latency:
        print()
    print("| Benchmark | p50 | p99 | unit |")
    print("| --- | ---: | ---: | --- |")
    for benchmark in sorted(others):
        r, unit = others[benchmark]
        print(f"| {benchmark} | {r['p50']:.0f} | {r['p99']:.0f} | {unit} |")
