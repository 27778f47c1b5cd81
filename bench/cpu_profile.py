"""Where the filter's CPU time goes: `perf` samples the proxy while it runs a case, and the share of
samples in V8's compiled code (`[JIT]` for perf: the module's wasm, compiled) is the time spent in the
module itself; the rest is Envoy, V8's runtime (host calls, entering and leaving the VM) and the kernel.

Optional: skipped, with a note, when perf is missing or not permitted.
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time


def available():
    return shutil.which("perf") is not None


def jit_share(pid, run):
    """Runs `run()` while perf samples process `pid`. Returns (share of samples in JIT code or None, the
    result of `run()`)."""
    fd, data = tempfile.mkstemp(prefix="llm-warden-perf-", suffix=".data")
    os.close(fd)
    try:
        perf = subprocess.Popen(["perf", "record", "-q", "-F", "1999", "-p", str(pid), "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)  # perf attaches to every thread
        result = run()
        perf.send_signal(signal.SIGINT)
        perf.wait(30)
        report = subprocess.run(["perf", "report", "-i", data, "--sort", "dso", "-q", "-g", "none", "--stdio"],
                                capture_output=True, text=True, timeout=120)
    finally:
        os.unlink(data)
    shares = {}
    for line in report.stdout.splitlines():
        pct, _, dso = line.strip().partition("%")
        try:
            shares[dso.strip()] = float(pct) / 100
        except ValueError:
            continue
    if not shares:
        return None, result
    return sum(v for k, v in shares.items() if k.startswith("[JIT]")), result
