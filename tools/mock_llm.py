#!/usr/bin/env python3
"""A mock OpenAI/Anthropic-compatible LLM upstream for `make run` and the end-to-end tests.

Speaks OpenAI Chat Completions, Completions and Responses and Anthropic Messages, as JSON or as
server-sent events (when the request says `"stream": true`). Replies can be steered per request:

  x-mock-reply: <text>        reply with this text (default: a fixed greeting)
  x-mock-tool-call: <json>    reply with a tool call {"name": ..., "arguments": {...}}
  x-mock-script: <id>         play a script stored with POST /__mock/scripts/<id>:
                              {"status": 200, "headers": {...}, "body": "...",
                               "chunks": ["...", ...], "delay_ms": 5}
                              `chunks` (or `chunks_b64`, base64 for exact bytes) are written one by
                              one with a pause between them, so a stream can be cut at any byte.
  x-mock-chunk-chars: <n>     characters of reply text per streamed delta (default 4)

Every request is recorded; GET /__mock/requests lists them (method, path, headers, body as text),
DELETE /__mock/requests forgets them. Standard library only.
"""

import argparse
import base64
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_REPLY = "Hello from the mock LLM. How can I help you today?"

_lock = threading.Lock()
_requests = []
# Whether requests are recorded (off for long soak runs: the list would grow without end).
_record = True
_scripts = {}


def words(text):
    return max(1, len(text.split()))


def request_texts(body):
    """Concatenated message texts of a request, for a rough usage figure."""
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                if k in ("content", "text", "input", "prompt", "system", "instructions", "messages"):
                    walk(x)

    walk(body)
    return " ".join(out)


def pieces(text, size):
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class Reply:
    """What to answer: text or a tool call, with usage figures."""

    def __init__(self, body, headers):
        self.model = body.get("model") or "mock-model"
        self.text = headers.get("x-mock-reply", DEFAULT_REPLY)
        tool = headers.get("x-mock-tool-call")
        self.tool = json.loads(tool) if tool else None
        self.chunk = int(headers.get("x-mock-chunk-chars", "4"))
        self.input_tokens = words(request_texts(body))
        self.output_tokens = words(self.text) if not self.tool else words(json.dumps(self.tool))
        opts = body.get("stream_options") or {}
        self.include_usage = bool(opts.get("include_usage"))


def openai_chat(r, stream):
    usage = {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens,
             "total_tokens": r.input_tokens + r.output_tokens}
    base = {"id": "chatcmpl-mock", "created": 1700000000, "model": r.model, "system_fingerprint": None}
    if r.tool:
        call = {"id": "call_mock", "type": "function",
                "function": {"name": r.tool["name"], "arguments": json.dumps(r.tool.get("arguments", {}))}}
    if not stream:
        message = {"role": "assistant", "content": None if r.tool else r.text, "refusal": None}
        if r.tool:
            message["tool_calls"] = [call]
        return dict(base, object="chat.completion", usage=usage, choices=[
            {"index": 0, "message": message, "logprobs": None, "finish_reason": "tool_calls" if r.tool else "stop"}])
    chunk = dict(base, object="chat.completion.chunk")
    events = [dict(chunk, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    if r.tool:
        args = call["function"]["arguments"]
        first = {"index": 0, "id": call["id"], "type": "function", "function": {"name": r.tool["name"], "arguments": ""}}
        events.append(dict(chunk, choices=[{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}]))
        for p in pieces(args, r.chunk):
            events.append(dict(chunk, choices=[{"index": 0, "delta": {"tool_calls": [
                {"index": 0, "function": {"arguments": p}}]}, "finish_reason": None}]))
    else:
        for p in pieces(r.text, r.chunk):
            events.append(dict(chunk, choices=[{"index": 0, "delta": {"content": p}, "finish_reason": None}]))
    events.append(dict(chunk, choices=[{"index": 0, "delta": {}, "finish_reason": "tool_calls" if r.tool else "stop"}]))
    if r.include_usage:
        events.append(dict(chunk, choices=[], usage=usage))
    return [("data", e) for e in events] + [("done", None)]


def openai_completions(r, stream):
    usage = {"prompt_tokens": r.input_tokens, "completion_tokens": r.output_tokens,
             "total_tokens": r.input_tokens + r.output_tokens}
    base = {"id": "cmpl-mock", "object": "text_completion", "created": 1700000000, "model": r.model}
    if not stream:
        return dict(base, usage=usage, choices=[{"index": 0, "text": r.text, "logprobs": None, "finish_reason": "stop"}])
    events = [dict(base, choices=[{"index": 0, "text": p, "logprobs": None, "finish_reason": None}])
              for p in pieces(r.text, r.chunk)]
    events.append(dict(base, choices=[{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}]))
    if r.include_usage:
        events.append(dict(base, choices=[], usage=usage))
    return [("data", e) for e in events] + [("done", None)]


def openai_responses(r, stream):
    usage = {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens,
             "total_tokens": r.input_tokens + r.output_tokens,
             "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
    if r.tool:
        item = {"type": "function_call", "id": "fc_mock", "call_id": "call_mock", "name": r.tool["name"],
                "arguments": json.dumps(r.tool.get("arguments", {})), "status": "completed"}
    else:
        item = {"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": r.text, "annotations": []}]}
    response = {"id": "resp_mock", "object": "response", "created_at": 1700000000, "status": "completed",
                "model": r.model, "output": [item], "usage": usage, "error": None, "incomplete_details": None,
                "instructions": None, "metadata": {}, "parallel_tool_calls": True, "temperature": 1.0,
                "tool_choice": "auto", "tools": [], "top_p": 1.0}
    if not stream:
        return response
    seq = iter(range(10**6))
    started = dict(response, status="in_progress", output=[], usage=None)
    ev = [("response.created", {"type": "response.created", "response": started}),
          ("response.in_progress", {"type": "response.in_progress", "response": started})]
    if r.tool:
        ev.append(("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                                  "item": dict(item, arguments="", status="in_progress")}))
        for p in pieces(item["arguments"], r.chunk):
            ev.append(("response.function_call_arguments.delta", {
                "type": "response.function_call_arguments.delta", "item_id": "fc_mock", "output_index": 0, "delta": p}))
        ev.append(("response.function_call_arguments.done", {
            "type": "response.function_call_arguments.done", "item_id": "fc_mock", "output_index": 0,
            "arguments": item["arguments"]}))
    else:
        ev.append(("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                                  "item": dict(item, status="in_progress", content=[])}))
        part = {"type": "output_text", "text": "", "annotations": []}
        ev.append(("response.content_part.added", {"type": "response.content_part.added", "item_id": "msg_mock",
                                                   "output_index": 0, "content_index": 0, "part": part}))
        for p in pieces(r.text, r.chunk):
            ev.append(("response.output_text.delta", {"type": "response.output_text.delta", "item_id": "msg_mock",
                                                      "output_index": 0, "content_index": 0, "delta": p}))
        ev.append(("response.output_text.done", {"type": "response.output_text.done", "item_id": "msg_mock",
                                                 "output_index": 0, "content_index": 0, "text": r.text}))
        ev.append(("response.content_part.done", {"type": "response.content_part.done", "item_id": "msg_mock",
                                                  "output_index": 0, "content_index": 0,
                                                  "part": dict(part, text=r.text)}))
    ev.append(("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}))
    ev.append(("response.completed", {"type": "response.completed", "response": response}))
    return [("event", (name, dict(data, sequence_number=next(seq)))) for name, data in ev]


def anthropic_messages(r, stream):
    if r.tool:
        block = {"type": "tool_use", "id": "toolu_mock", "name": r.tool["name"], "input": r.tool.get("arguments", {})}
    else:
        block = {"type": "text", "text": r.text}
    message = {"id": "msg_mock", "type": "message", "role": "assistant", "model": r.model,
               "content": [block], "stop_reason": "tool_use" if r.tool else "end_turn", "stop_sequence": None,
               "usage": {"input_tokens": r.input_tokens, "output_tokens": r.output_tokens}}
    if not stream:
        return message
    start = dict(message, content=[], stop_reason=None, usage={"input_tokens": r.input_tokens, "output_tokens": 1})
    ev = [("message_start", {"type": "message_start", "message": start})]
    if r.tool:
        ev.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": dict(block, input={})}))
        ev.append(("ping", {"type": "ping"}))
        for p in pieces(json.dumps(block["input"]), r.chunk):
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "input_json_delta", "partial_json": p}}))
    else:
        ev.append(("content_block_start", {"type": "content_block_start", "index": 0,
                                           "content_block": {"type": "text", "text": ""}}))
        ev.append(("ping", {"type": "ping"}))
        for p in pieces(r.text, r.chunk):
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": p}}))
    ev.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    ev.append(("message_delta", {"type": "message_delta",
                                 "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                 "usage": {"output_tokens": r.output_tokens}}))
    ev.append(("message_stop", {"type": "message_stop"}))
    return [("event", e) for e in ev]


FORMATS = [
    ("/chat/completions", openai_chat),
    ("/completions", openai_completions),
    ("/responses", openai_responses),
    ("/messages", anthropic_messages),
]


def sse_bytes(events):
    out = []
    for kind, e in events:
        if kind == "data":
            out.append("data: " + json.dumps(e) + "\n\n")
        elif kind == "done":
            out.append("data: [DONE]\n\n")
        else:
            name, data = e
            out.append("event: " + name + "\ndata: " + json.dumps(data) + "\n\n")
    return [o.encode() for o in out]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-llm"

    def log_message(self, *args):
        pass

    def read_body(self):
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def send(self, status, body, content_type="application/json", extra=None):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_chunks(self, status, chunks, headers, delay):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, c in enumerate(chunks):
            if not c:
                continue
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.flush()
            if delay and i + 1 < len(chunks):
                time.sleep(delay)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def do_GET(self):
        if self.path.startswith("/__mock/requests"):
            with _lock:
                body = json.dumps(_requests).encode()
            return self.send(200, body)
        return self.send(200, b'{"status":"ok"}')

    def do_DELETE(self):
        with _lock:
            _requests.clear()
        self.send(200, b"{}")

    def do_POST(self):
        raw = self.read_body()
        path = self.path.split("?")[0]
        if path.startswith("/__mock/scripts/"):
            with _lock:
                _scripts[path.rsplit("/", 1)[1]] = json.loads(raw)
            return self.send(200, b"{}")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if _record:
            with _lock:
                _requests.append({"method": "POST", "path": self.path, "headers": headers,
                                  "body": raw.decode("utf-8", "replace")})
        script_id = headers.get("x-mock-script")
        if script_id:
            with _lock:
                script = _scripts.get(script_id)
            if script is None:
                return self.send(500, b'{"error":{"message":"unknown mock script"}}')
            return self.play(script)
        handler = next((h for suffix, h in FORMATS if path.endswith(suffix)), None)
        if handler is None:
            return self.send(404, b'{"error":{"message":"not found"}}')
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self.send(400, b'{"error":{"message":"invalid JSON"}}')
        reply = Reply(body, headers)
        stream = bool(body.get("stream"))
        result = handler(reply, stream)
        if stream:
            chunks = sse_bytes(result)
            return self.send_chunks(200, chunks, {"content-type": "text/event-stream"}, 0.0)
        return self.send(200, json.dumps(result).encode())

    def play(self, script):
        status = script.get("status", 200)
        headers = script.get("headers", {"content-type": "application/json"})
        if "chunks" in script or "chunks_b64" in script:
            chunks = [c.encode() for c in script.get("chunks", [])]
            chunks += [base64.b64decode(c) for c in script.get("chunks_b64", [])]
            return self.send_chunks(status, chunks, headers, script.get("delay_ms", 0) / 1000)
        body = script.get("body", "").encode()
        ctype = headers.pop("content-type", "application/json")
        return self.send(status, body, ctype, headers)


def serve(port, ready=None):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    if ready is not None:
        ready(server.server_address[1])
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--port-file", help="write the bound port here (use with --port 0)")
    parser.add_argument("--no-record", action="store_true", help="do not keep requests (long runs)")
    args = parser.parse_args()
    global _record
    _record = not args.no_record

    def ready(port):
        if args.port_file:
            with open(args.port_file, "w") as f:
                f.write(str(port))
        print(f"mock LLM listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)

    serve(args.port, ready)


if __name__ == "__main__":
    main()
