"""Load generation: wrk runs for throughput and latency, and a probe for time to first byte."""

import http.client
import json
import os
import socket
import subprocess
import time
from urllib.parse import urlparse

from workload import PATH

HERE = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(HERE, "post.lua")


def wrk(url, case, body_path, seconds, connections, cpu):
    """One wrk run (one thread, closed loop); returns the JSON line printed by post.lua."""
    env = dict(os.environ, BENCH_BODY=body_path, BENCH_PATH=PATH,
               BENCH_RESPONSE=case.headers.get("x-bench-response", ""),
               BENCH_AUTHORIZATION=case.headers["authorization"])
    pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
    cmd = pin + ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
                 "-s", LUA, url]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])


class Client:
    """A keep-alive HTTP/1.1 connection that times each exchange."""

    def __init__(self, url):
        u = urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def post(self, body, headers):
        """Returns (status, body, seconds to the response head, seconds to the first body bytes)."""
        start = time.perf_counter()
        self.conn.request("POST", PATH, body=body, headers=headers)
        response = self.conn.getresponse()
        head = time.perf_counter() - start
        first = response.read1(1 << 20)
        first_bytes = time.perf_counter() - start
        rest = response.read()
        return response.status, first + rest, head, first_bytes

    def close(self):
        self.conn.close()


def stream_text(body):
    """The text of an OpenAI chat stream: its deltas' content joined, and whether it ends with [DONE]."""
    text, done = [], False
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data: "):
            continue
        data = line[len("data: "):]
        if data == "[DONE]":
            done = True
            continue
        for choice in json.loads(data).get("choices", []):
            text.append(choice.get("delta", {}).get("content") or "")
    return "".join(text), done


def same_response(case, body):
    """The upstream's exact body for JSON; for streams the same text and end (redaction may hold a
    word back and send it in a later event, so the framing can differ)."""
    expected = case.expected_body()
    if case.response != "sse":
        return body == expected
    return stream_text(body) == stream_text(expected)


def ttfb(urls, case, probes):
    """Times `probes` requests of `case` through each of `urls`, alternating between them request by
    request so that both see the same machine. Returns {url: [seconds to the first body bytes]}."""
    clients = {url: Client(url) for url in urls}
    times = {url: [] for url in urls}
    try:
        for _ in range(probes):
            for url, client in clients.items():
                status, body, _head, first = client.post(case.body, case.headers)
                if status != 200 or not same_response(case, body):
                    raise RuntimeError(f"{case.name} through {url}: status {status}, unexpected body")
                times[url].append(first)
    finally:
        for c in clients.values():
            c.close()
    return times
