"""Verified identities and server-side provider keys through the shipped envoy/identity/envoy.yaml:
Envoy's jwt_authn with a local JWKS (an RSA key made here), the plugin's required identity and its
group from a claim, and Envoy's credential_injector adding the provider key after the plugin removed
the client's."""

import json
import os
import time
import uuid

import jwt
import openai
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import envoy_config
from conftest import ROOT, post

ISSUER = "https://auth.example.com"
AUDIENCE = "llm-gateway"
PLUGIN = {
    "identity": {"required": True, "remove_client_keys": True,
                 "jwt": {"payload_in_metadata": "jwt_payload", "consumer_claim": "sub", "group_claim": "group"}},
    "quota": {"groups": [{"name": "agents"}]},
    "tools": {"allow": ["get_weather"], "groups": {"agents": ["get_weather", "run_sql"]}},
}
CHAT = {"model": "m", "messages": [{"role": "user", "content": "What is the weather like?"}]}


def synthetic(*parts):
    """A test credential built at run time, so that no key-shaped string sits in the repository."""
    return "-".join(parts + (uuid.uuid4().hex[:12],))


class Issuer:
    """An RSA signing key and its JWKS."""

    def __init__(self, kid="test-key"):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid

    def jwks(self):
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [dict(public, kid=self.kid, alg="RS256", use="sig")]}

    def token(self, sub, group=None, **claims):
        payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "exp": int(time.time()) + 600, **claims}
        if group:
            payload["group"] = group
        return jwt.encode(payload, self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def issuer():
    return Issuer()


@pytest.fixture(scope="module")
def server_key():
    return "Bearer " + synthetic("server", "side", "key")


@pytest.fixture
def gw(start_envoy, issuer, server_key, tmp_path_factory):
    d = tmp_path_factory.mktemp("identity")
    (d / "jwks.json").write_text(json.dumps(issuer.jwks()))
    (d / "provider-key").write_text(server_key)
    text = open(os.path.join(ROOT, "envoy", "identity", "envoy.yaml")).read()
    text = text.replace("/etc/llm-warden/", str(d) + "/")
    import yaml
    base = yaml.safe_load(text)
    assert envoy_config.wasm_plugin(base)["configuration"]["value"].strip().startswith('{"identity"')
    return start_envoy(json.dumps(PLUGIN), base=base)


def test_no_identity_is_401_in_the_provider_format(gw, mock):
    test_id = uuid.uuid4().hex
    r = post(gw.url + "/v1/chat/completions", CHAT, {"x-test-id": test_id})
    assert r.status_code == 401 and r.json()["error"]["code"] == "llm_warden.unauthenticated"
    r = post(gw.url + "/v1/messages", dict(CHAT, max_tokens=8), {"x-test-id": test_id})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    assert mock.requests_with("x-test-id", test_id) == []


def test_a_token_envoy_cannot_verify_never_reaches_the_plugin(gw):
    forged = Issuer().token("mallory", "agents")
    r = post(gw.url + "/v1/chat/completions", CHAT, {"authorization": "Bearer " + forged})
    assert r.status_code == 401  # jwt_authn's own refusal
    assert "llm_warden" not in r.text
    # A provider key in its place is not a JWT either.
    r = post(gw.url + "/v1/chat/completions", CHAT, {"authorization": "Bearer " + synthetic("client", "key")})
    assert r.status_code == 401


def test_consumer_and_group_come_from_the_verified_token(gw, mock, issuer):
    test_id = uuid.uuid4().hex
    with_tools = dict(CHAT, tools=[{"type": "function", "function": {"name": "run_sql", "parameters": {}}}])
    agent = {"authorization": "Bearer " + issuer.token("alice", "agents"), "x-test-id": test_id}
    assert post(gw.url + "/v1/chat/completions", with_tools, agent).status_code == 200
    # The same tool for a consumer outside the group, and a group header the client made up.
    other = {"authorization": "Bearer " + issuer.token("bob"), "x-tier": "agents", "group": "agents"}
    r = post(gw.url + "/v1/chat/completions", with_tools, other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "llm_warden.tool_not_allowed"
    seen = mock.requests_with("x-test-id", test_id)
    assert len(seen) == 1
    assert seen[0]["headers"].get("x-llm-warden-consumer") == "alice"


def test_the_client_key_never_reaches_the_upstream(gw, mock, issuer, server_key):
    test_id = uuid.uuid4().hex
    client_key = synthetic("client", "provider", "key")
    token = issuer.token("carol")
    headers = {"authorization": "Bearer " + token, "x-api-key": client_key, "api-key": client_key,
               "x-test-id": test_id}
    assert post(gw.url + "/v1/chat/completions", CHAT, headers).status_code == 200
    # The official SDK, holding only its JWT as the "API key".
    client = openai.OpenAI(base_url=gw.url + "/v1", api_key=token, max_retries=0, timeout=10,
                           default_headers={"x-test-id": test_id, "x-api-key": client_key})
    assert client.chat.completions.create(model="m", messages=CHAT["messages"]).choices[0].message.content
    seen = mock.requests_with("x-test-id", test_id)
    assert len(seen) == 2
    for req in seen:
        h = {k.lower(): v for k, v in req["headers"].items()}
        assert h.get("authorization") == server_key
        assert "x-api-key" not in h and "api-key" not in h
        assert client_key not in json.dumps(req) and token not in json.dumps(req)
