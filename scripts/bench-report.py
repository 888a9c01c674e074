#!/usr/bin/env python3
"""Turns package-benchmark's text output into the README's table: p50/p99 and ratios to the floor.

Usage: scripts/bench-report.py < benchmark-output.txt
Floors: Freeze:Signal/* and Freeze:Cgroup/* are divided by Freeze:RawKill/* of the same direction and size
(measured in the same run); Invoke:Warm/* by Invoke:Floor(2xRTT).
"""
import re
import sys

results = {}
name = None
for line in sys.stdin:
    line = line.strip()
    if re.match(r"^(Freeze|Invoke):\S+$", line):
        name = line
    elif name and "Time (wall clock)" in line:
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        # Metric, p0, p25, p50, p75, p90, p99, p100, samples
        values = [float(c) for c in cells[1:8]]
        results[name] = {"p50": values[2], "p99": values[5], "samples": int(cells[8])}
        name = None


def floor_of(benchmark):
    if benchmark.startswith("Freeze:Signal/") or benchmark.startswith("Freeze:Cgroup/"):
        return "Freeze:RawKill/" + benchmark.split("/", 1)[1]
    if benchmark.startswith("Invoke:Warm/"):
        return "Invoke:Floor(2xRTT)"
    return None


print("| Benchmark | p50 (µs) | p99 (µs) | floor p50 (µs) | p50 ÷ floor |")
print("| --- | ---: | ---: | ---: | ---: |")
for benchmark in sorted(results):
    r = results[benchmark]
    floor = floor_of(benchmark)
    if floor and floor in results and results[floor]["p50"] > 0:
        f = results[floor]["p50"]
        print(f"| {benchmark} | {r['p50']:.0f} | {r['p99']:.0f} | {f:.0f} | {r['p50'] / f:.2f} |")
    else:
        print(f"| {benchmark} | {r['p50']:.0f} | {r['p99']:.0f} | — | floor |")
