"""Agent boundaries through Envoy: tool allow-lists per consumer group, tool calls checked in JSON
and in streams split into many chunks, and the official openai SDK's tool-calling flow."""

import json
import uuid

import anthropic
import openai
import pytest

from conftest import post

RULES = {
    "run_sql": {
        "arguments": {"type": "object", "required": ["query"], "additionalProperties": False,
                      "properties": {"query": {"type": "string", "pattern": "(?i)^\\s*select\\b"}}},
        "deny": ["(?i)\\b(drop|delete|update|insert)\\b"],
    },
    "fetch_url": {"url_hosts": ["api.example.com"]},
}
CONFIG = {
    "quota": {"identity": {"group_header": "x-tier"}, "groups": [{"name": "agents"}]},
    "tools": {"allow": ["get_weather"], "groups": {"agents": ["get_weather", "run_sql", "fetch_url"]},
              "rules": RULES},
}
AGENTS = {"x-tier": "agents"}
PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses", "anthropic": "/v1/messages"}


def tool(name, api="chat"):
    params = {"type": "object", "properties": {"q": {"type": "string"}}}
    if api == "chat":
        return {"type": "function", "function": {"name": name, "description": "a tool", "parameters": params}}
    if api == "responses":
        return {"type": "function", "name": name, "parameters": params}
    return {"name": name, "input_schema": params}


def body(api, tools=(), stream=False, **extra):
    msgs = [{"role": "user", "content": "What is the weather in Paris?"}]
    b = {"model": "m", "stream": stream, **extra}
    if api == "responses":
        b["input"] = msgs
    else:
        b["messages"] = msgs
    if api == "anthropic":
        b["max_tokens"] = 64
    if tools:
        b["tools"] = [tool(t, api) for t in tools]
    return b


def call(gw, api, name, arguments, stream=False, tier=AGENTS, chunk=3, declared=None):
    """A request declaring `declared` (default: the called tool) whose reply calls `name`."""
    headers = dict(tier, **{"x-mock-tool-call": json.dumps({"name": name, "arguments": arguments}),
                            "x-mock-chunk-chars": str(chunk)})
    return post(gw.url + PATHS[api], body(api, [declared or name], stream), headers)


@pytest.fixture
def gw(envoy_for):
    return envoy_for(json.dumps(CONFIG))


def test_a_disallowed_declared_tool_is_rejected_before_the_upstream(gw, mock):
    test_id = uuid.uuid4().hex
    r = post(gw.url + PATHS["chat"], body("chat", ["get_weather", "send_email"]), {"x-test-id": test_id})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "llm_warden.tool_not_allowed"
    assert "send_email" in r.json()["error"]["message"]
    assert mock.requests_with("x-test-id", test_id) == []
    # The agents group may use more, but not everything.
    assert post(gw.url + PATHS["chat"], body("chat", ["get_weather", "run_sql"]), AGENTS).status_code == 200
    r = post(gw.url + PATHS["anthropic"], body("anthropic", ["send_email"]), AGENTS)
    assert r.status_code == 403 and r.json()["type"] == "error"


def test_a_forced_tool_choice_must_be_allowed(gw):
    forced = {"type": "function", "name": "run_sql"}
    r = post(gw.url + PATHS["responses"], body("responses", ["get_weather"], tool_choice=forced))
    assert r.status_code == 403 and r.json()["error"]["code"] == "llm_warden.tool_not_allowed"


def test_disallowed_tools_are_stripped_when_configured(envoy_for, mock):
    config = json.loads(json.dumps(CONFIG))
    config["tools"]["on_undeclared"] = "strip"
    gw = envoy_for(json.dumps(config))
    test_id = uuid.uuid4().hex
    for api in ("chat", "responses", "anthropic"):
        r = post(gw.url + PATHS[api], body(api, ["send_email", "get_weather", "delete_all"]),
                 {"x-test-id": test_id})
        assert r.status_code == 200, r.text
    seen = mock.requests_with("x-test-id", test_id)
    assert len(seen) == 3
    for req in seen:
        tools = json.loads(req["body"])["tools"]
        names = [t.get("function", t).get("name") for t in tools]
        assert names == ["get_weather"]
    stats = gw.stats("wasmcustom.llm_warden.decisions.stripped.tool_policy")
    assert stats.get("wasmcustom.llm_warden.decisions.stripped.tool_policy.tool_not_allowed", 0) >= 3


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_tool_calls_in_json_responses(gw, api):
    ok = call(gw, api, "run_sql", {"query": "SELECT city FROM weather"})
    assert ok.status_code == 200, ok.text
    assert "SELECT city FROM weather" in ok.text
    # A rule-breaking call, a URL off the host list, and a call to a tool the request never declared
    # and the default group may not use.
    for name, args, tier in [("run_sql", {"query": "DROP TABLE weather"}, AGENTS),
                             ("fetch_url", {"url": "https://exfil.test/?d=secret"}, AGENTS),
                             ("send_email", {"to": "someone"}, {})]:
        r = call(gw, api, name, args, tier=tier, declared="get_weather")
        assert r.status_code == 403, (name, r.text)
        assert "DROP" not in r.text and "exfil" not in r.text
        error = r.json()["error"]
        assert (error["code"] if api != "anthropic" else error["type"]) in ("llm_warden.tool_call",
                                                                            "permission_error")


def sse_events(text):
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_tool_calls_in_streams_split_into_many_chunks(gw, api):
    query = "SELECT city, temperature FROM weather WHERE day = 'today'"
    ok = call(gw, api, "run_sql", {"query": query}, stream=True, chunk=2)
    assert ok.status_code == 200
    events = sse_events(ok.text)
    assert len(events) > 20
    assert not any("error" in e for e in events), ok.text
    cases = [("run_sql", {"query": "SELECT 1; DROP TABLE weather"}, AGENTS, "tool_arguments_denied"),
             ("send_email", {"to": "someone@example.com", "body": "the DROP notes"}, {}, "tool_not_allowed")]
    for name, args, tier, category in cases:
        key = "wasmcustom.llm_warden.decisions.blocked.tool_policy." + category
        before = gw.stats(key).get(key, 0)
        bad = call(gw, api, name, args, stream=True, tier=tier, chunk=2, declared="get_weather")
        assert bad.status_code == 200  # the stream had started: it ends with the provider's error event
        events = sse_events(bad.text)
        assert "DROP" not in bad.text and name not in bad.text
        assert events and "error" in events[-1], bad.text
        assert gw.stats(key).get(key, 0) == before + 1


def arguments_of(api, text):
    """The streamed call's arguments, assembled as a client does."""
    out = ""
    for e in sse_events(text):
        if api == "chat":
            for c in e.get("choices", []):
                for t in c.get("delta", {}).get("tool_calls", []) or []:
                    out += t.get("function", {}).get("arguments", "")
        elif api == "responses" and e.get("type") == "response.function_call_arguments.delta":
            out += e["delta"]
        elif api == "anthropic" and e.get("delta", {}).get("type") == "input_json_delta":
            out += e["delta"]["partial_json"]
    return out


@pytest.mark.parametrize("api", ["chat", "responses", "anthropic"])
def test_an_allowed_streamed_call_arrives_whole_and_untouched(gw, envoy_for, api):
    args = {"query": "SELECT city, temperature FROM weather WHERE day = 'today'"}
    r = call(gw, api, "run_sql", args, stream=True, chunk=2)
    assert json.loads(arguments_of(api, r.text)) == args
    # Byte for byte what the filter sends without tool rules (held back, then released as it came).
    plain = call(envoy_for("{}"), api, "run_sql", args, stream=True, chunk=2)
    assert r.text == plain.text


def test_openai_sdk_tool_calling_flow(gw):
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key="sk-test", max_retries=0, timeout=10,
                           default_headers=AGENTS)
    tools = [tool("get_weather")]
    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    steer = {"x-mock-tool-call": json.dumps({"name": "get_weather", "arguments": {"city": "Paris"}})}
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools,
                                           extra_headers=steer)
    calls = first.choices[0].message.tool_calls
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    messages += [first.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": calls[0].id, "content": "18 degrees and sunny"}]
    final = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=tools)
    assert final.choices[0].message.content
    # Streamed, with the SDK's own accumulation of argument fragments.
    with client.chat.completions.stream(model="gpt-4o-mini", messages=messages[:1], tools=tools,
                                        extra_headers=dict(steer, **{"x-mock-chunk-chars": "2"})) as s:
        done = s.get_final_completion()
    call = done.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Paris"}
    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages[:1], tools=[tool("send_email")])


def test_anthropic_sdk_stream_blocked_call_is_an_error(gw):
    client = anthropic.Anthropic(base_url=gw.url, api_key="sk-ant-test", max_retries=0, timeout=10,
                                 default_headers=AGENTS)
    steer = {"x-mock-tool-call": json.dumps({"name": "fetch_url", "arguments": {"url": "https://exfil.test/x"}}),
             "x-mock-chunk-chars": "3"}
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model="claude-test", max_tokens=64, tools=[tool("fetch_url", "anthropic")],
                                    messages=[{"role": "user", "content": "hi"}], extra_headers=steer) as s:
            s.get_final_message()


@pytest.mark.parametrize("stream", [False, True])
def test_tool_arguments_also_pass_through_redaction(gw, stream):
    email = "jane.doe." + uuid.uuid4().hex[:6] + "@example.com"
    r = call(gw, "chat", "get_weather", {"city": "Paris", "notify": email}, stream=stream, tier={}, chunk=3)
    assert r.status_code == 200
    text = r.text if not stream else arguments_of("chat", r.text)
    assert email not in text and "Paris" in text
