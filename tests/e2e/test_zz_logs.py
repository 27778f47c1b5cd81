"""Last of the session (by name): every Envoy log the suite produced — the plugin's audit records and
log lines, Envoy's own log and access log — holds none of the prompts, tool results, secrets or PII
the suite sent through Envoy."""
import os

import pytest

from conftest import ENVOY_LOGS, SENT


def test_no_log_line_holds_anything_sent():
    if not SENT:
        pytest.skip("run alone: no other test sent anything to look for")
    logs = [p for p in ENVOY_LOGS if os.path.exists(p)]
    assert logs
    leaks = []
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        leaks += [(os.path.basename(os.path.dirname(path)), value[:60]) for value in SENT if value in text]
    assert not leaks, leaks
