"""What Envoy 1.40 does when a Wasm VM crashes or cannot start, under each `failure_policy`.

A VM crash is simulated with tests/fixtures/trap-plugin, a module that panics (a Wasm trap) in
`on_http_request_headers` when a request carries `x-trap`. A bad plugin configuration is covered by
test_foundation.py::test_bad_plugin_config_refuses_to_start; here the same under every policy.
"""

import os
import subprocess
import time
import uuid

import pytest
import requests

from conftest import ROOT, WASM

import envoy_config

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "trap-plugin")
TARGET_DIR = os.path.join(ROOT, "target", "fixtures")
TRAP_WASM = os.path.join(TARGET_DIR, "wasm32-unknown-unknown", "release", "trap_plugin.wasm")
POLICIES = ["FAIL_CLOSED", "FAIL_OPEN", "FAIL_RELOAD"]


@pytest.fixture(scope="session")
def trap_wasm():
    subprocess.run(["cargo", "build", "--quiet", "--release", "--target", "wasm32-unknown-unknown",
                    "--manifest-path", os.path.join(FIXTURE, "Cargo.toml"), "--target-dir", TARGET_DIR],
                   check=True)
    return TRAP_WASM


def with_module(policy, module):
    """envoy/envoy.yaml with a wasm filter running `module` under `policy` in place of llm-warden."""
    base = envoy_config.render(WASM, with_filter=False)
    filters = envoy_config.http_filters(base)
    filters.insert(len(filters) - 1, {
        "name": "trap",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "trap",
                "failure_policy": policy,
                "vm_config": {"vm_id": "trap", "runtime": "envoy.wasm.runtime.v8",
                              "code": {"local": {"filename": os.path.abspath(module)}}},
            },
        },
    })
    return base


def send(envoy, trap=False):
    tag = uuid.uuid4().hex
    headers = {"x-test-id": tag, **({"x-trap": "1"} if trap else {})}
    r = requests.post(envoy.url + "/v1/chat/completions", json={"model": "m", "messages": []},
                      headers=headers, timeout=10)
    return r.status_code, tag


def test_fail_closed_rejects_every_request_after_a_crash(start_envoy, mock, trap_wasm):
    envoy = start_envoy(with_filter=False, base=with_module("FAIL_CLOSED", trap_wasm))
    assert send(envoy)[0] == 200
    status, tag = send(envoy, trap=True)
    assert status == 503
    assert mock.requests_with("x-test-id", tag) == []
    assert "Function: proxy_on_request_headers failed" in envoy.log()
    # The VM stays dead: everything after is rejected, never passed unscanned.
    time.sleep(1.5)
    for _ in range(3):
        status, tag = send(envoy)
        assert status == 503
        assert mock.requests_with("x-test-id", tag) == []


def test_fail_open_passes_requests_unfiltered_after_a_crash(start_envoy, mock, trap_wasm):
    envoy = start_envoy(with_filter=False, base=with_module("FAIL_OPEN", trap_wasm))
    # The request that crashed the VM is still answered 503 ...
    status, tag = send(envoy, trap=True)
    assert status == 503
    assert mock.requests_with("x-test-id", tag) == []
    # ... and every later one goes upstream with no filter at all, even one that would crash it.
    for trap in (False, True):
        status, tag = send(envoy, trap=trap)
        assert status == 200
        assert len(mock.requests_with("x-test-id", tag)) == 1


def test_fail_reload_rejects_until_a_new_vm_is_up(start_envoy, mock, trap_wasm):
    envoy = start_envoy(with_filter=False, base=with_module("FAIL_RELOAD", trap_wasm))
    crashed = time.time()
    assert send(envoy, trap=True)[0] == 503
    assert send(envoy)[0] == 503  # within the reload backoff
    deadline = crashed + 10
    while time.time() < deadline:
        status, _ = send(envoy)
        if status == 200:
            break
        assert status == 503
        time.sleep(0.1)
    else:
        pytest.fail("no VM reload within 10 s")
    # Observed: about 1 s after the crash. The new VM runs the plugin again: it filters, and crashes.
    assert time.time() - crashed < 5
    assert send(envoy, trap=True)[0] == 503
    stats = envoy.stats("wasm.trap.vm_reload")
    assert stats.get("wasm.trap.vm_reload_success", 0) >= 1
    assert stats.get("wasm.trap.vm_reload_backoff", 0) >= 1


@pytest.mark.parametrize("policy", POLICIES)
def test_a_vm_that_cannot_start_stops_envoy_under_every_policy(start_envoy, tmp_path, policy):
    not_wasm = tmp_path / "not.wasm"
    not_wasm.write_bytes(b"not a wasm module")
    envoy = start_envoy(with_filter=False, base=with_module(policy, not_wasm))
    assert envoy.url is None and envoy.exited(), f"Envoy started with a module that cannot load ({policy})"
    assert "Failed to load Wasm code" in envoy.log()

    base = envoy_config.load()
    envoy_config.wasm_plugin(base)["failure_policy"] = policy
    envoy = start_envoy({"limits": {"max_json_depth": "deep"}}, base=base)
    assert envoy.url is None and envoy.exited(), f"Envoy started with a bad plugin configuration ({policy})"
    assert "llm-warden: invalid configuration: limits.max_json_depth" in envoy.log()
