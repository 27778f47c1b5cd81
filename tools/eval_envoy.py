#!/usr/bin/env python3
"""`make eval` through Envoy: every corpus sample sent as an OpenAI chat request to the real Envoy with
the built module before the mock upstream (the default configuration with quotas off: the whole corpus
from one address would exhaust the default budget); a sample counts as detected when
Envoy answers 403 with `llm_warden.prompt_injection`. Prints the same table as the native run, so
the two can be compared line by line.

Usage: tools/eval_envoy.py [--corpus DIR]
"""
import argparse
import collections
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from conftest import Envoy, Mock  # noqa: E402


CONFIG = '{"quota": {"mode": "off"}}'


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"))
    args = parser.parse_args()
    samples = load(os.path.join(args.corpus, "attacks.jsonl")) + load(os.path.join(args.corpus, "benign.jsonl"))
    mock = Mock()
    envoy = Envoy(CONFIG, upstream=mock.url)
    if envoy.url is None:
        sys.exit("Envoy did not start:\n" + envoy.log())
    session = requests.Session()

    def send(sample):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": sample["text"]}]}
        r = session.post(envoy.url + "/v1/chat/completions", json=body, timeout=30)
        if r.status_code not in (200, 403):
            raise RuntimeError(f"unexpected {r.status_code}: {r.text[:200]}")
        return r.status_code == 403 and "llm_warden.prompt_injection" in r.text

    started = time.time()
    try:
        with ThreadPoolExecutor(4) as pool:
            flagged = list(pool.map(send, samples))
    finally:
        envoy.stop()
    counts = collections.defaultdict(lambda: [0, 0])
    for sample, hit in zip(samples, flagged):
        c = counts[(sample["label"] == "attack", sample["category"])]
        c[0] += hit
        c[1] += 1
    print(f"prompt injection through Envoy (module dist/llm_warden.wasm, configuration {CONFIG}), corpus {args.corpus}")
    for attack, title in ((True, "attacks: detected"), (False, "benign: false positives")):
        print(f"{title:<28} {'all':>6} {'rate':>8}")
        total = [0, 0]
        for (a, category), (hits, n) in sorted(counts.items()):
            if a == attack:
                print(f"  {category:<26} {n:>6} {100 * hits / n:>7.1f}%")
                total[0] += hits
                total[1] += n
        print(f"  {'ALL':<26} {total[1]:>6} {100 * total[0] / max(1, total[1]):>7.1f}%")
    print(f"{len(samples)} requests through Envoy in {time.time() - started:.1f} s")


if __name__ == "__main__":
    main()
