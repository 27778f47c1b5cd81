"""Renders envoy/envoy.yaml for a given module, plugin configuration, ports and upstream.

Used by `make run` (tools/run.py) and by the end-to-end tests, so both run the shipped Envoy
configuration with only addresses and paths changed.
"""

import copy
import json
import os
from urllib.parse import urlparse

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENVOY_YAML = os.path.join(ROOT, "envoy", "envoy.yaml")


def load(path=ENVOY_YAML):
    with open(path) as f:
        return yaml.safe_load(f)


def http_filters(config):
    listener = config["static_resources"]["listeners"][0]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return hcm["http_filters"]


def wasm_plugin(config):
    """The wasm filter's PluginConfig (`config` of the Wasm filter)."""
    for f in http_filters(config):
        if f["name"] == "envoy.filters.http.wasm":
            return f["typed_config"]["config"]
    raise KeyError("no wasm filter in the Envoy configuration")


def render(wasm, plugin_config="{}", upstream="http://127.0.0.1:18080", listen_port=10000, admin_port=9901,
           with_filter=True, stop_iteration=True, base=None):
    """Returns the Envoy configuration as a dict.

    plugin_config: the plugin JSON (a string, or a dict that is serialised).
    upstream: URL of the LLM upstream; https URLs get TLS with SNI and host rewrite.
    with_filter: False drops the wasm filter (the baseline for benchmarks).
    stop_iteration: False leaves `allow_on_headers_stop_iteration` unset, as hosts that cannot set it.
    """
    config = copy.deepcopy(base if base is not None else load())
    listener = config["static_resources"]["listeners"][0]
    listener["address"]["socket_address"]["port_value"] = listen_port
    config["admin"]["address"]["socket_address"]["port_value"] = admin_port
    if with_filter:
        plugin = wasm_plugin(config)
        plugin["vm_config"]["code"]["local"]["filename"] = os.path.abspath(wasm)
        if not isinstance(plugin_config, str):
            plugin_config = json.dumps(plugin_config)
        plugin["configuration"]["value"] = plugin_config
        if not stop_iteration:
            plugin.pop("allow_on_headers_stop_iteration", None)
    else:
        filters = http_filters(config)
        filters[:] = [f for f in filters if f["name"] != "envoy.filters.http.wasm"]
    set_upstream(config, upstream)
    return config


def set_upstream(config, url):
    parsed = urlparse(url)
    tls = parsed.scheme == "https"
    host = parsed.hostname or "127.0.0.1"
    port = parsed.port or (443 if tls else 80)
    cluster = next(c for c in config["static_resources"]["clusters"] if c["name"] == "llm_upstream")
    endpoint = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
    endpoint["address"]["socket_address"].update(address=host, port_value=port)
    if tls:
        cluster["transport_socket"] = {
            "name": "envoy.transport_sockets.tls",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                "sni": host,
            },
        }
        hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
        for vhost in hcm["route_config"]["virtual_hosts"]:
            for route in vhost["routes"]:
                route["route"]["host_rewrite_literal"] = host


def write(config, path):
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    return path
