#!/usr/bin/python3
"""Prints run.sh's results (JSON lines) as one table: each workload, carpo, each anchor, ratios.
The raw JeroMQ client (the Java floor) comes from Ours' round trip, which interleaves it with carpo's."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]


def find(impl, workload, spec, n):
    for r in rows:
        if r["impl"] == impl and r["workload"] == workload and r["n"] == n and (spec is None or r["spec"] == spec):
            return r
    return None


def fmt(r):
    return "-" if r is None else ("%.2f" % r["value"] if r["value"] < 100 else "%.0f" % r["value"])


def ratio(a, b):
    return "-" if a is None or b is None or not b["value"] else "%.2f" % (a["value"] / b["value"])


print("| workload | kernel | N | carpo | raw JeroMQ | raw pyzmq | jupyter_client | ipyparallel | carpo ÷ raw JeroMQ | carpo ÷ raw pyzmq | carpo ÷ jupyter_client | carpo ÷ ipyparallel |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
seen = set()
for r in rows:
    key = (r["workload"], r["spec"], r["n"])
    if not r["impl"].startswith("carpo") or key in seen and r["impl"] == "carpo":
        continue
    seen.add(key)
    workload, spec, n = key
    ours = r
    floor = find("raw-pyzmq", workload, spec, n)
    java_floor = find("raw-jeromq", workload, spec, n)
    jc = find("jupyter_client", workload, spec, n)
    ipp = find("ipyparallel", workload, None, n)
    label = workload + ("" if r["impl"] == "carpo" else " (" + r["impl"][7:-1] + ")")
    extra = ""
    if "cpu_limit_jobs_per_s" in r:
        extra = " (CPU limit %.0f/s: %.2f×)" % (r["cpu_limit_jobs_per_s"], r["value"] / r["cpu_limit_jobs_per_s"])
        if "client_cpu_ms_per_job" in r:
            extra += " (client CPU %.2f ms/job%s)" % (r["client_cpu_ms_per_job"],
                "; jupyter_client %.2f" % jc["client_cpu_ms_per_job"] if jc and "client_cpu_ms_per_job" in jc else "")
    if "p99" in r:
        extra = " (p99 %.2f)" % r["p99"]
    if "port_collisions" in r:
        extra = " (%d port collisions)" % r["port_collisions"]
    if workload == "footprint":
        extra = " threads (%.0f before; %.0f of them the JDK's process reapers; %s while starting); heap %.0f KiB/kernel" % (
            r["threads_before"], r["process_reaper_threads"], "%.0f" % r["threads_during_start"] if "threads_during_start" in r else "?",
            r["heap_per_kernel_kib"])
    print("| %s | %s | %d | %s%s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, spec, n, fmt(ours), extra, fmt(java_floor), fmt(floor), fmt(jc), fmt(ipp), ratio(ours, java_floor), ratio(ours, floor),
        ratio(ours, jc), ratio(ours, ipp)))
for r in rows:
    if r["impl"] == "ipyparallel" and r["workload"] == "round trip p50":
        print("| round trip p50 (apply_sync) | ipyparallel engine | 1 | - | - | - | - | %s (p99 %.2f) | - | - | - | - |" % (fmt(r), r["p99"]))
print("\nUnits: round trips and start-up in ms (lower is better); jobs/s (higher is better).")
