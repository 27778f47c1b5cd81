"""Summaries of a benchmark run: the table `make bench` prints and bench/RESULTS.md.

Ratios are medians of the per-round ratios (each round runs with and without the filter back to back),
absolute figures are medians over rounds.
"""

import statistics

# The project's targets: CPU time per request with the filter relative to without, by request size.
CPU_RATIO_TARGETS = {1: 1.35, 16: 1.6, 128: 2.5}
P99_ADDED_TARGET_MS = 0.3   # at 1 connection, 16 KiB
TTFB_ADDED_TARGET_MS = 1.0  # SSE


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def runs_of(runs, case, variant):
    return sorted((r for r in runs if r["case"] == case and r["variant"] == variant), key=lambda r: r["round"])


def paired(runs, case, key):
    """Per-round ratios with/without of `key`."""
    return [w[key] / wo[key] for w, wo in zip(runs_of(runs, case, "with"), runs_of(runs, case, "without"))
            if wo[key]]


def case_rows(results):
    runs = results["runs"]
    rows = []
    for case in dict.fromkeys(r["case"] for r in runs):
        kib = int(case.split()[0])
        m = {v: {k: median([r[k] for r in runs_of(runs, case, v)])
                 for k in ("rps", "p50_ms", "p99_ms", "cpu_us", "proxy_busy")}
             for v in ("without", "with")}
        ratios = paired(runs, case, "cpu_us")
        target = CPU_RATIO_TARGETS.get(kib)
        rows.append({"case": case, "kib": kib, "m": m, "cpu_ratio": median(ratios),
                     "cpu_ratio_range": (min(ratios), max(ratios)), "rps_ratio": median(paired(runs, case, "rps")),
                     "target": target, "ok": target is not None and median(ratios) <= target})
    return rows


def single_row(results):
    runs = results["single"]["runs"]
    case = results["single"]["case"]
    m = {v: {k: median([r[k] for r in runs_of(runs, case, v)]) for k in ("p50_ms", "p99_ms")}
         for v in ("without", "with")}
    added = median([w["p99_ms"] - wo["p99_ms"]
                    for w, wo in zip(runs_of(runs, case, "with"), runs_of(runs, case, "without"))])
    return {"case": case, "m": m, "p99_added": added, "ok": added <= P99_ADDED_TARGET_MS}


def ttfb_rows(results):
    rows = []
    for case, times in results["ttfb"].items():
        m = {v: median(times[v]) * 1000 for v in ("without", "with")}
        added = m["with"] - m["without"]
        rows.append({"case": case, "m": m, "added": added, "n": len(times["with"]),
                     "ok": added <= TTFB_ADDED_TARGET_MS})
    return rows


def engine_rows(results):
    native = {(e["bench"], e["input"]): e for e in results["engine"].get("native", [])}
    wasm = {(e["bench"], e["input"]): e for e in results["engine"].get("wasm", [])}
    rows = []
    for key in dict.fromkeys(list(native) + list(wasm)):
        n, w = native.get(key), wasm.get(key)
        rows.append({"bench": key[0], "input": key[1], "bytes": (n or w)["bytes"],
                     "native": n["mb_s"] if n else None, "wasm": w["mb_s"] if w else None,
                     "wasm_us": w["us_per_call"] if w else None})
    return rows


def engine_us(results, bench, input_label):
    for e in results["engine"].get("wasm", []):
        if e["bench"] == bench and e["input"] == input_label:
            return e["us_per_call"]
    return None


def mark(ok):
    return "yes" if ok else "**no**"


def fmt(x, digits=1):
    return "–" if x is None else f"{x:,.{digits}f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def cpu_table(results):
    return table(
        ["case", "CPU µs/req without", "with", "**CPU ratio**", "(range)", "target", "met",
         "req/s without", "with", "p50 ms without", "with", "p99 ms without", "with"],
        [[r["case"], fmt(r["m"]["without"]["cpu_us"]), fmt(r["m"]["with"]["cpu_us"]),
          f"**{r['cpu_ratio']:.2f}×**", f"{r['cpu_ratio_range'][0]:.2f}–{r['cpu_ratio_range'][1]:.2f}",
          f"≤{r['target']}×", mark(r["ok"]), fmt(r["m"]["without"]["rps"], 0), fmt(r["m"]["with"]["rps"], 0),
          fmt(r["m"]["without"]["p50_ms"], 2), fmt(r["m"]["with"]["p50_ms"], 2),
          fmt(r["m"]["without"]["p99_ms"], 2), fmt(r["m"]["with"]["p99_ms"], 2)]
         for r in case_rows(results)])


def latency_table(results):
    s = single_row(results)
    return table(
        ["1 connection", "p50 ms without", "with", "p99 ms without", "with", "**p99 added**", "target", "met"],
        [[s["case"], fmt(s["m"]["without"]["p50_ms"], 3), fmt(s["m"]["with"]["p50_ms"], 3),
          fmt(s["m"]["without"]["p99_ms"], 3), fmt(s["m"]["with"]["p99_ms"], 3),
          f"**{s['p99_added']:.3f} ms**", f"≤{P99_ADDED_TARGET_MS} ms", mark(s["ok"])]])


def ttfb_table(results):
    return table(
        ["SSE, time to first byte", "median ms without", "with", "**added**", "target", "met"],
        [[r["case"], fmt(r["m"]["without"], 3), fmt(r["m"]["with"], 3), f"**{r['added']:.3f} ms**",
          f"≤{TTFB_ADDED_TARGET_MS} ms", mark(r["ok"])] for r in ttfb_rows(results)])


def memory_table(results):
    vms = results["wasm_vms"] or 1
    rows = []
    labels = {"idle": "after start, no traffic", "warm": "after warm-up", "end": "after all runs"}
    for point, snap in results["memory"].items():
        delta = snap["with"]["rss_kib"] - snap["without"]["rss_kib"]
        rows.append([labels[point], fmt(snap["without"]["rss_kib"] / 1024), fmt(snap["with"]["rss_kib"] / 1024),
                     f"**{delta / 1024:.1f}**", fmt(delta / vms / 1024),
                     fmt((snap["with"]["allocated_kib"] - snap["without"]["allocated_kib"]) / 1024)])
    return table(["proxy memory, MiB", "RSS without", "RSS with", "**RSS added**", f"per VM (÷{vms})",
                  "Envoy heap added (/memory)"], rows)


def engine_table(results):
    return table(
        ["engine function", "input", "bytes", "native MB/s", "wasm MB/s (Node)", "wasm µs/call"],
        [[r["bench"], r["input"], f"{r['bytes']:,}", fmt(r["native"]), fmt(r["wasm"]), fmt(r["wasm_us"], 2)]
         for r in engine_rows(results)])


def breakdown_table(results):
    """The CPU the filter adds per request: in the module's compiled wasm (perf's share of JIT code in the
    filtered proxy), the rest, and what the engine alone costs in wasm under Node."""
    rows = []
    for r in case_rows(results):
        added = r["m"]["with"]["cpu_us"] - r["m"]["without"]["cpu_us"]
        share = results.get("jit", {}).get(r["case"])
        in_wasm = None if share is None else share * r["m"]["with"]["cpu_us"]
        sse = r["case"].endswith("sse")
        request = engine_us(results, "Exchange::on_request_body", f"{r['kib']} KiB")
        response = engine_us(results, "Exchange::on_stream_chunk" if sse else "Exchange::on_response_body",
                             "stream" if sse else "response")
        engine = None if request is None or response is None else request + response
        rows.append([r["case"], fmt(added), fmt(in_wasm), fmt(None if in_wasm is None else added - in_wasm),
                     fmt(engine)])
    return table(["case", "CPU added µs/req", "in the module's wasm (perf)",
                  "rest: Envoy, V8 runtime, host calls, kernel", "engine alone, wasm in Node"], rows)


def runs_table(results):
    runs = sorted(results["runs"] + results["single"]["runs"],
                  key=lambda r: (r["round"], r["case"] != results["single"]["case"], r["case"]))
    return table(["round", "case", "variant", "connections", "req/s", "p50 ms", "p99 ms", "CPU µs/req",
                  "other on proxy core", "other on load core", "attempts"],
                 [[r["round"] + 1, r["case"], r["variant"], r.get("connections", ""), fmt(r["rps"], 0),
                   fmt(r["p50_ms"], 3), fmt(r["p99_ms"], 3), fmt(r["cpu_us"]), f"{r['other_proxy_core']:.0%}",
                   f"{r['other_load_core']:.0%}", r["attempts"]] for r in runs])


def console(results):
    parts = [cpu_table(results), latency_table(results), ttfb_table(results), breakdown_table(results),
             memory_table(results), f"module: {results['module_bytes']:,} bytes", engine_table(results)]
    return "\n\n".join(parts)


def markdown(results):
    mc = results["machine"]
    ms = results["mode_settings"]
    mode_note = "" if results["mode"] == "full" else " (**quick mode: short runs, indicative only**)"
    return f"""# Benchmark results

Measured on {mc['date']} with `{results['command']}`{mode_note} in {results['elapsed_s']} s.

- Machine: {mc['cpu']} ({mc['cores']} cores), Linux {mc['kernel']}
- Envoy {mc['envoy']}, {mc['wrk']}, Node {mc['node']}, {mc['rustc']}
- Load average before / after: {' '.join(results['loadavg_before'])} / {' '.join(results['loadavg_after'])}

## Envoy with the filter vs without

The same Envoy configuration (`envoy/envoy.yaml`) with and without the module, {config_note(results)}.
OpenAI chat requests of benign prose, with an API key as SDK clients send; JSON or SSE (23 chunk events) responses. Medians of
{ms['rounds']} interleaved rounds of {ms['seconds']} s, wrk with 1 thread and {ms['connections']} connections.
**CPU ratio**: the proxy's CPU time per request with the filter over without (median of the per-round
ratios; range: lowest and highest round).

{cpu_table(results)}

{latency_table(results)}

{ttfb_table(results)}

Where the added CPU goes. "In the module's wasm": the share of the filtered proxy's samples (`perf`,
one extra run per case) that fall in V8's compiled code, times its CPU per request: the engine plus
the proxy-wasm SDK and the allocator. "Rest": Envoy's wasm extension, V8's runtime and host calls,
copying bodies in and out of the VM, holding headers and bodies, the kernel. "Engine alone": the
micro-benchmarks below for the request and its response (Node's V8, not Envoy's: an estimate, and a low
one: timed from inside the module, the same request costs Envoy 1.8–2.8× what it costs Node; see the README's
Performance section):

{breakdown_table(results)}

## Size and memory

Module `dist/llm_warden.wasm`: **{results['module_bytes']:,} bytes** ({results['module_bytes'] / 1024:.0f} KiB).

{memory_table(results)}

Envoy 1.40 reports no per-VM memory: its wasm stats count VMs (`wasm.wasm_vm_count` =
{results['wasm_vms']}: with `--concurrency 1`, the VMs of the main thread and of the worker), and admin
`/memory` covers only Envoy's own allocator, not V8's heap or the VMs' linear memory. So memory is the
resident set (VmRSS) of the proxy with the filter minus the one without, same traffic; "per VM" divides it
by the VM count, although the worker's VM, which sees the traffic, holds most of it. Wasm linear memory
grows to the largest bodies in flight and is never returned.

## Engine micro-benchmarks

`cargo bench --bench engine` (bench/engine.rs): MB/s = input bytes / time per call / 10⁶. Calls are
timed in batches by the thread's CPU time, the median batch of 11 kept, and the median of
{ms['engine_runs']} runs reported. Wasm: the same code built for `wasm32-wasip1`, run under Node {mc['node']}
(V8) with `--no-liftoff`, as Envoy runs V8. Inputs are the bytes sent through Envoy above; the stream is
fed one event per chunk.

{engine_table(results)}

The native figures also gauge the machine during the run. This shared 2-vCPU machine changes speed by up to
2× for minutes at a time (`inject::scan` natively: 100–115 MB/s in quiet periods, about 55 MB/s in busy
ones), and that moves the CPU ratios above as well: the filter's work is computation, most of Envoy's is
not. Compare runs whose native figures agree.

## Method

- Proxy under test: two Envoys (with / without the filter), `--concurrency 1`, pinned with `taskset` to
  one core, only one loaded at a time. Upstream: a separate Envoy answering from memory
  (`bench/upstream.yaml`, `direct_response` after the buffer filter so each request is read whole), pinned
  with wrk to the other core. Bodies: `bench/workload.py`; responses: `bench/fixtures/`.
- Each case first runs {ms['warmup']} s per variant to warm up (connection pools, caches), then
  {ms['rounds']} rounds; the order with/without alternates from round to round.
- CPU time: utime + stime of the proxy process (every thread) from `/proc/<pid>/stat` before and after a
  wrk run, divided by the requests wrk completed. During the kept runs {busy_note(results)}.
- Every response is checked: the proxy's own `http.llm.downstream_rq_2xx` must equal
  `downstream_rq_completed` and wrk must count no error status; before measuring, each case answers 200
  with the upstream's exact body through both proxies, and a prompt injection gets 403 with the filter and
  200 without.
- Latency at 1 connection: wrk `-c1`, {ms['rounds']} rounds of {ms['seconds']} s; "p99 added" is the median
  of the per-round differences. Time to first byte: {ms['probes']} requests per case and variant on a
  keep-alive connection, alternating between the proxies request by request, timed from sending the
  request to the first bytes of the body (the first event).

<details><summary>Every kept run ({len(results['runs']) + len(results['single']['runs'])})</summary>

{runs_table(results)}

</details>
"""


def config_note(results):
    if results["plugin_config"] in ("", "{}"):
        return "plugin configuration `{}` (every protection on)"
    return f"plugin configuration `{results['plugin_config']}`"


def busy_note(results):
    rows = case_rows(results)
    busy = [r["m"][v]["proxy_busy"] for r in rows for v in ("without", "with")]
    runs = results["runs"] + results["single"]["runs"]
    other = [max(r["other_proxy_core"], r["other_load_core"]) for r in runs]
    pairs = [r for r in runs if r["variant"] == "with"]
    repeated = sum(1 for r in pairs if r["attempts"] > 1)
    noisy = sum(1 for r in runs if max(r["other_proxy_core"], r["other_load_core"]) > results["foreign_limit"])
    bottleneck = " (below 100%: the other core, wrk and the upstream, is the bottleneck)" if max(busy) < 0.95 else ""
    return (f"the proxy kept its core {min(busy):.0%}–{max(busy):.0%} busy{bottleneck}. Other processes took at most {max(other):.0%} of a core "
            f"during a kept run (median {statistics.median(other):.0%}); a pair of runs during which they took "
            f"more than {results['foreign_limit']:.0%} of either core is run again (at most {results['retries']} "
            f"times, and for at most {results['retry_budget']:.0%} of the pairs; the quietest attempt kept): {repeated} of {len(pairs)} pairs were, {noisy} kept runs stayed "
            f"above the limit")
