"""`make oci-check`: the OCI archive `make oci` builds is what Istio's WasmPlugin pulls — an image
with exactly one layer, holding `plugin.wasm`, byte-identical to dist/llm_warden.wasm."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHIVE = os.path.join(ROOT, "dist", "llm-warden-oci.tar")
WASM = os.path.join(ROOT, "dist", "llm_warden.wasm")
LAYER_TYPES = ("application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar")


@pytest.fixture(scope="module")
def image():
    """The OCI layout inside the archive: its manifest and a reader of blobs (digest-checked)."""
    with tarfile.open(ARCHIVE) as archive:
        files = {m.name.removeprefix("./"): archive.extractfile(m).read() for m in archive if m.isfile()}

    def blob(digest):
        algorithm, _, hexdigest = digest.partition(":")
        data = files[f"blobs/{algorithm}/{hexdigest}"]
        assert algorithm == "sha256" and hashlib.sha256(data).hexdigest() == hexdigest
        return data

    assert json.loads(files["oci-layout"])["imageLayoutVersion"] == "1.0.0"
    (entry,) = json.loads(files["index.json"])["manifests"]
    manifest = json.loads(blob(entry["digest"]))
    return manifest, blob


def test_one_layer_holding_only_plugin_wasm(image):
    manifest, blob = image
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    (layer,) = manifest["layers"]
    assert layer["mediaType"] in LAYER_TYPES
    with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as tar:
        members = tar.getmembers()
        assert [m.name.removeprefix("./").lstrip("/") for m in members] == ["plugin.wasm"]
        assert members[0].isfile()
        content = tar.extractfile(members[0]).read()
    with open(WASM, "rb") as f:
        assert content == f.read(), "plugin.wasm differs from dist/llm_warden.wasm"


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_skopeo_sees_the_same_single_layer(image):
    manifest, _ = image
    out = subprocess.run(["skopeo", "inspect", f"oci-archive:{ARCHIVE}"], check=True, capture_output=True, text=True)
    info = json.loads(out.stdout)
    assert info["Layers"] == [manifest["layers"][0]["digest"]]
    assert info["Labels"]["org.opencontainers.image.title"] == "llm-warden"
