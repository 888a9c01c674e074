#!/usr/bin/env python3
"""Turns package-benchmark's text output into the README's tables, each figure next to its floor.

Usage: scripts/bench-report.py < benchmark-output.txt

- Freeze:Signal/* and Freeze:Cgroup/*: the latency the freezer confirmed (its own clock, request to confirmation),
  divided by Freeze:RawKill/* of the same direction and size (kill() and waitid, measured in the same run).
- Invoke:Warm/*: wall clock of one warm invoke, divided by Invoke:WarmRelayFloor (the C relay floor with the same
  runtime and client); Invoke:TwoRoundTrips, two loopback round trips to an echo thread, is printed as a reference.
- Invoke:SimulatorCPU/*: utime+stime of the `lambda-sim run` process per invoke, divided by Invoke:RelayFloorCPU
  (the same figure for the C relay floor), and what signal/cgroup add over none.
- Invoke:Throughput/*: invokes/s (p99 is the slow end), divided by Invoke:ThroughputRelayFloor/100clients (the C
  relay floor with as many fixture runtimes and the same clients).
- Orchestrator:ScaleOut/*: time to ready, time and simulator memory per sandbox, and the per-sandbox time as a
  multiple of the one at 1,000 sandboxes (linear scale-out keeps it near 1).
"""
import re
import sys

# benchmark -> metric -> {"p50", "p99", "samples"}, values in the metric's base unit
metrics = {}
name = None
for line in sys.stdin:
    line = line.strip()
    if re.match(r"^(Freeze|Invoke|Orchestrator):\S+$", line):
        name = line
        continue
    if not name or not line.startswith("│"):
        continue
    cells = [c.strip() for c in line.split("│") if c.strip()]
    if len(cells) < 9 or cells[0] == "Metric":
        continue
    label = cells[0].rstrip(" *")
    scale = 1000 if label.endswith("(K)") else 1_000_000 if label.endswith("(M)") else 1
    label = re.sub(r"\s*\((K|M)\)$", "", label)
    values = [float(c) * scale for c in cells[1:8]]
    metrics.setdefault(name, {})[label] = {"p50": values[2], "p99": values[5], "samples": int(cells[8])}


def figure(benchmark, label):
    return metrics.get(benchmark, {}).get(label)


def wall_us(benchmark):
    entries = metrics.get(benchmark, {})
    for label, entry in entries.items():
        if label.startswith("Time (wall clock)"):
            unit = re.search(r"\((\w+)\)$", label)
            unit = unit.group(1).replace("μ", "µ") if unit else "µs"
            factor = {"ns": 0.001, "µs": 1, "ms": 1000, "s": 1_000_000}.get(unit, 1)
            return {"p50": entry["p50"] * factor, "p99": entry["p99"] * factor}
    return None


rows = []
for benchmark in sorted(metrics):
    if benchmark.startswith("Freeze:Signal/") or benchmark.startswith("Freeze:Cgroup/"):
        confirmed = figure(benchmark, "Confirmed (ns)")
        floor = wall_us("Freeze:RawKill/" + benchmark.split("/", 1)[1])
        if confirmed and floor:
            rows.append((benchmark, confirmed["p50"] / 1000, confirmed["p99"] / 1000, floor["p50"]))
    elif benchmark.startswith("Invoke:Warm/"):
        wall = wall_us(benchmark)
        floor = wall_us("Invoke:WarmRelayFloor")
        if wall and floor:
            rows.append((benchmark, wall["p50"], wall["p99"], floor["p50"]))
if rows:
    print("| Benchmark | p50 (µs) | p99 (µs) | floor p50 (µs) | p50 ÷ floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for benchmark, p50, p99, floor in rows:
        ratio = f"{p50 / floor:.2f}" if floor > 0 else "—"
        print(f"| {benchmark} | {p50:.0f} | {p99:.0f} | {floor:.0f} | {ratio} |")
    print()
round_trips = wall_us("Invoke:TwoRoundTrips")
if round_trips:
    print(f"(Invoke:Warm's floor is Invoke:WarmRelayFloor; for reference, two loopback round trips of the same client "
          f"to an echo thread, Invoke:TwoRoundTrips: p50 {round_trips['p50']:.0f} µs.)")
    print()

cpu = {b.split("/", 1)[1]: figure(b, "Simulator CPU (ns/invoke)") for b in metrics if b.startswith("Invoke:SimulatorCPU/")}
cpu = {mode: entry for mode, entry in cpu.items() if entry}
relay = figure("Invoke:RelayFloorCPU", "Simulator CPU (ns/invoke)")
if cpu:
    print("| Simulator CPU per warm invoke | p50 (µs) | p99 (µs) | C relay floor p50 (µs) | p50 ÷ floor | over `none` (µs) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    base = cpu.get("none", {}).get("p50")
    floor = f"{relay['p50'] / 1000:.0f}" if relay else "—"
    for mode in ["none", "signal", "cgroup"]:
        if mode in cpu:
            over = f"{(cpu[mode]['p50'] - base) / 1000:+.0f}" if base is not None and mode != "none" else "—"
            ratio = f"{cpu[mode]['p50'] / relay['p50']:.2f}" if relay and relay["p50"] > 0 else "—"
            print(f"| `{mode}` | {cpu[mode]['p50'] / 1000:.0f} | {cpu[mode]['p99'] / 1000:.0f} | {floor} | {ratio} "
                  f"| {over} |")
    print()

throughput = [(b, figure(b, "Invokes/s")) for b in sorted(metrics) if b.startswith("Invoke:Throughput/")]
throughput = [(b, e) for b, e in throughput if e]
relay_rate = figure("Invoke:ThroughputRelayFloor/100clients", "Invokes/s")
if throughput:
    print("| Throughput | p50 (invokes/s) | slow end, p99 (invokes/s) | C relay floor p50 (invokes/s) | p50 ÷ floor |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for benchmark, entry in throughput:
        floor = f"{relay_rate['p50']:.0f}" if relay_rate else "—"
        ratio = f"{entry['p50'] / relay_rate['p50']:.2f}" if relay_rate and relay_rate["p50"] > 0 else "—"
        print(f"| {benchmark} | {entry['p50']:.0f} | {entry['p99']:.0f} | {floor} | {ratio} |")
    print()

scale = []
for benchmark in metrics:
    if benchmark.startswith("Orchestrator:ScaleOut/"):
        size = int(benchmark.rsplit("/", 1)[1])
        wall, per, memory = wall_us(benchmark), figure(benchmark, "Per sandbox (ns)"), figure(
            benchmark, "Memory per sandbox (B)")
        if wall and per:
            scale.append((size, wall, per, memory))
if scale:
    scale.sort()
    reference = next((per["p50"] for size, _, per, _ in scale if size == 1000), None)
    print("| Scale-out (provisioned fixture sandboxes) | ready (ms) | per sandbox (ms) | ÷ per sandbox at 1,000 "
          "| simulator memory per sandbox (KB) |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for size, wall, per, memory in scale:
        ratio = f"{per['p50'] / reference:.2f}" if reference else "—"
        kb = f"{memory['p50'] / 1024:.1f}" if memory else "—"
        print(f"| {size:,} | {wall['p50'] / 1000:.0f} | {per['p50'] / 1e6:.2f} | {ratio} | {kb} |")
