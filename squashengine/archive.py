"""Output formats around the merged layer: docker-archive (``docker load``), OCI image archive
(``podman load`` / ``skopeo copy oci-archive:``) and the bare root filesystem tar.

Every format is laid out as ``head + merged layer + tail``: the head is known before the first
byte; the tail depends only on fixed-length digests of the merged layer, so its length (and the
whole archive's) is known from the plan. The layer is written first so its digest can be computed
while it streams; loaders read the whole archive before its metadata.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from . import tarformat as tf
from .errors import ContentError, DiffIdMismatchError, SquashError
from .index import LayerIndex
from .limits import DEFAULT_LIMITS, Limits
from .plan import LayerPlan, plan_layer

FORMATS = ("docker", "oci", "rootfs")
COMPRESSIONS = ("none", "gzip", "zstd")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"
# Placeholder of the right length, to measure the tail before the layer digest is known.
_DIGEST_PLACEHOLDER = "sha256:" + "0" * 64
# In an OCI archive the layer is written before its digest (its name) is known, under this name;
# the tail adds blobs/sha256/<digest> as a hardlink to it.
OCI_LAYER_STAGING = "blobs/quaysquash-layer.tar"


@dataclass
class LayerInput:
    """One layer of the image to squash: its blob digest, how to open it, and its index."""

    digest: str
    open_blob: Callable[[], BinaryIO]
    index: LayerIndex


@dataclass
class SquashResult:
    size: int
    # "sha256:<hex>" of the whole output; None when the caller asked write_squash not to hash
    # it (it hashes the written file itself, after the bytes reached their readers).
    sha256: str | None
    diff_id: str  # "sha256:<hex>" of the merged (uncompressed) layer


@dataclass
class SquashPlan:
    layers: list[LayerInput]
    layer: LayerPlan
    format: str
    compression: str
    head: bytes
    tail_size: int
    render_tail: Callable[[str], bytes] = field(repr=False)

    @property
    def layer_size(self) -> int:
        return self.layer.size

    @property
    def size(self) -> int | None:
        """Exact size of the output in bytes; None when the output is compressed."""
        if self.compression != "none":
            return None
        return len(self.head) + self.layer.size + self.tail_size

    @property
    def planned_bytes(self) -> int:
        """Bytes of the uncompressed output (what a compressed output starts from): the figure
        the output limit and a caller's free-space check are held against."""
        return len(self.head) + self.layer.size + self.tail_size

    @property
    def entries(self) -> int:
        return self.layer.entries


def _entry(name: str, data: bytes, mode: int = 0o644) -> bytes:
    header = tf.simple_file_header(name.encode(), len(data), mode)
    return header + data + bytes(tf.padded(len(data)) - len(data))


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _split_tag(repo_tag: str) -> tuple[str, str]:
    name, sep, tag = repo_tag.rpartition(":")
    if not sep or "/" in tag:
        return repo_tag, "latest"
    return name, tag


def _squashed_config(config: bytes, diff_id: str, layer_count: int) -> dict:
    try:
        cfg = json.loads(config)
    except ValueError as exc:
        raise ContentError(f"image config is not valid JSON: {exc}") from exc
    if not isinstance(cfg, dict):
        raise ContentError("image config is not a JSON object")
    history = cfg.get("history") or []
    created = cfg.get("created") or next(
        (h.get("created") for h in reversed(history) if isinstance(h, dict) and h.get("created")),
        None,
    )
    entry = {"created_by": f"quaysquash: squashed {layer_count} layers"}
    if created:
        entry = {"created": created, **entry}
    cfg["rootfs"] = {"type": "layers", "diff_ids": [diff_id]}
    cfg["history"] = [entry]
    return cfg


def check_diff_ids(layers: Sequence[LayerInput], config: bytes) -> None:
    """The layers' uncompressed digests must be the config's ``rootfs.diff_ids``, in number and
    in order, as ``docker pull`` requires ("layers from manifest don't match image
    configuration"); an image it refuses is not squashed into one that loads."""
    try:
        cfg = json.loads(config)
    except ValueError as exc:
        raise ContentError(f"image config is not valid JSON: {exc}") from exc
    rootfs = cfg.get("rootfs") if isinstance(cfg, dict) else None
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list):
        raise DiffIdMismatchError("image config has no rootfs.diff_ids")
    if len(diff_ids) != len(layers):
        raise DiffIdMismatchError(
            f"layers from the manifest don't match the image configuration: "
            f"{len(layers)} layers, {len(diff_ids)} rootfs.diff_ids"
        )
    for position, (layer, want) in enumerate(zip(layers, diff_ids, strict=True)):
        if layer.index.diff_id != want:
            raise DiffIdMismatchError(
                f"layers from the manifest don't match the image configuration: layer "
                f"{position} ({layer.digest}) has diff_id {layer.index.diff_id}, "
                f"the config says {want}"
            )


def plan_squash(
    layers: Sequence[LayerInput],
    config: bytes,
    *,
    format: str = "docker",
    repo_tag: str | None = None,
    compression: str = "none",
    limits: Limits = DEFAULT_LIMITS,
) -> SquashPlan:
    """Plan the squash from the layer indexes alone (no decompression).

    Refuses, before any byte is written: layers that do not match the config's diff_ids, a
    layer with more entries than ``limits`` allow, an output larger than they allow.
    """
    if format not in FORMATS:
        raise SquashError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if compression not in COMPRESSIONS:
        raise SquashError(f"unknown compression {compression!r}")
    layers = list(layers)
    for layer in layers:
        if layer.index.digest and layer.index.digest != layer.digest:
            raise SquashError(f"layer {layer.digest}: index belongs to {layer.index.digest}")
        # Stored indexes may predate a lower limit.
        limits.check_entries(layer.digest, len(layer.index))
    check_diff_ids(layers, config)
    try:
        layer_plan = plan_layer([layer.index for layer in layers])
    except (ValueError, KeyError, IndexError) as exc:
        # A header the planner must rewrite did not parse (the index check let it through).
        raise ContentError(f"cannot plan the squash: malformed layer entry ({exc})") from exc
    _squashed_config(config, _DIGEST_PLACEHOLDER, len(layers))  # validate early
    if format == "rootfs":
        head, render = b"", lambda diff_id: b""
    elif format == "docker":
        head, render = _docker(layers, config, layer_plan, repo_tag)
    else:
        head, render = _oci(layers, config, layer_plan, repo_tag)
    tail_size = len(render(_DIGEST_PLACEHOLDER))
    plan = SquashPlan(layers, layer_plan, format, compression, head, tail_size, render)
    limits.check_output("the squash", plan.planned_bytes)
    return plan


def _docker(layers, config, layer_plan, repo_tag):
    seed = hashlib.sha256(b"quaysquash docker-archive v1\n")
    seed.update(config)
    for layer in layers:
        seed.update(layer.digest.encode() + b"\n")
    synthetic_id = seed.hexdigest()
    layer_name = f"{synthetic_id}/layer.tar"
    head = tf.simple_file_header(layer_name.encode(), layer_plan.size)

    def render(diff_id: str) -> bytes:
        cfg = _squashed_config(config, diff_id, len(layers))
        cfg_bytes = _dumps(cfg)
        cfg_name = hashlib.sha256(cfg_bytes).hexdigest() + ".json"
        legacy = {"id": synthetic_id}
        for key in ("created", "container_config", "config", "architecture", "os", "variant"):
            if key in cfg:
                legacy[key] = cfg[key]
        manifest = [
            {
                "Config": cfg_name,
                "RepoTags": [repo_tag] if repo_tag else None,
                "Layers": [layer_name],
            }
        ]
        parts = [
            _entry(cfg_name, cfg_bytes),
            _entry(f"{synthetic_id}/json", _dumps(legacy)),
            _entry(f"{synthetic_id}/VERSION", b"1.0"),
            _entry("manifest.json", _dumps(manifest)),
        ]
        if repo_tag:
            repo, tag = _split_tag(repo_tag)
            parts.append(_entry("repositories", _dumps({repo: {tag: synthetic_id}})))
        parts.append(bytes(1024))
        return b"".join(parts)

    return head, render


def _oci(layers, config, layer_plan, repo_tag):
    head = _entry("oci-layout", _dumps({"imageLayoutVersion": "1.0.0"})) + tf.simple_file_header(
        OCI_LAYER_STAGING.encode(), layer_plan.size
    )

    def render(diff_id: str) -> bytes:
        cfg_bytes = _dumps(_squashed_config(config, diff_id, len(layers)))
        cfg_digest = "sha256:" + hashlib.sha256(cfg_bytes).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": cfg_digest, "size": len(cfg_bytes)},
            "layers": [{"mediaType": OCI_LAYER, "digest": diff_id, "size": layer_plan.size}],
        }
        man_bytes = _dumps(manifest)
        man_digest = "sha256:" + hashlib.sha256(man_bytes).hexdigest()
        descriptor = {"mediaType": OCI_MANIFEST, "digest": man_digest, "size": len(man_bytes)}
        if repo_tag:
            descriptor["annotations"] = {REF_NAME: repo_tag}
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json"}
        index["manifests"] = [descriptor]
        link = tf.simple_file_header(b"blobs/sha256/" + diff_id[7:].encode(), 0, typeflag=b"1")
        link = bytearray(link)
        link[157 : 157 + len(OCI_LAYER_STAGING)] = OCI_LAYER_STAGING.encode()
        link[148:156] = b"        "
        link[148:156] = b"%06o\0 " % sum(link)
        return b"".join(
            [
                bytes(link),
                _entry("blobs/sha256/" + cfg_digest[7:], cfg_bytes),
                _entry("blobs/sha256/" + man_digest[7:], man_bytes),
                _entry("index.json", _dumps(index)),
                bytes(1024),
            ]
        )

    return head, render
