"""Local image sources: an OCI image layout directory (``DIR[:ref]``) or a tar archive holding
either a ``docker save`` image (``manifest.json``) or an OCI layout (``index.json``).

Two views of the same reading: ``open_source`` gives one platform's config and layers (what the
squash needs); ``open_image_tree`` gives every manifest and blob under the chosen entry, as
stored (what the registry's importer stores). Which entry ``:ref`` names: ``refs.py``.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO, Self

from . import refs
from .archive import LayerInput
from .errors import PlatformNotFoundError, SourceError
from .index import index_layer
from .layoutwriter import OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, canonical_json, layer_media_type
from .sourcefs import TarFS, blob_opener, load_json, open_fs, read_verified, split_spec

INDEX_TYPES = {OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json"}
MANIFEST_TYPES = {OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"}
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PLATFORM = "linux/amd64"
MAX_DEPTH = 4  # nested indexes


class _Closing:
    """Closes the source's files (``_closers``) when done, or at the end of a ``with``."""

    _closers: list[Callable[[], None]]

    def close(self) -> None:
        for closer in self._closers:
            closer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class ImageSource(_Closing):
    """One image: its config, its layers bottom-up as (digest, media type, open_blob)."""

    config: bytes
    layers: list[tuple[str, str, Callable[[], BinaryIO]]]
    manifest_digest: str
    platform: str | None = None
    name: str | None = None  # a tag found in the source, if any
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def layer_inputs(self, index=index_layer) -> list[LayerInput]:
        """Index every layer (or fetch its index through ``index(open_blob, digest)``)."""
        return [LayerInput(d, opener, index(opener, d)) for d, _media, opener in self.layers]


@dataclass
class TreeBlob:
    """A config or layer blob: ``size`` checked against its descriptor, content not yet."""

    digest: str
    size: int
    media_type: str
    open: Callable[[], BinaryIO]


@dataclass
class TreeManifest:
    raw: bytes  # the stored bytes, verified against ``digest``
    media_type: str
    digest: str


@dataclass
class ImageTree(_Closing):
    """Every manifest (children before the indexes listing them) and every distinct blob of
    one entry of a source; the last manifest is the entry itself."""

    manifests: list[TreeManifest] = field(default_factory=list)
    blobs: list[TreeBlob] = field(default_factory=list)
    name: str | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)


def _platform_of(desc: dict) -> str:
    p = desc.get("platform") or {}
    text = f"{p.get('os', 'unknown')}/{p.get('architecture', 'unknown')}"
    if p.get("variant"):
        text += "/" + p["variant"]
    return text


def _platform_matches(have: str, want: str) -> bool:
    h = have.split("/")
    w = want.split("/")
    if h[:2] != w[:2]:
        return False
    return len(w) < 3 or (len(h) >= 3 and h[2] == w[2])


def _layout_names(desc: dict) -> list[str]:
    name = (desc.get("annotations") or {}).get(REF_NAME)
    return [n for n in (name, desc.get("digest")) if isinstance(n, str)]


def _layout_index(fs) -> list[dict]:
    if not fs.has("oci-layout") or "imageLayoutVersion" not in load_json(
        fs.read("oci-layout"), "oci-layout"
    ):
        raise SourceError(f"{fs.where} is not an OCI image layout (no valid oci-layout file)")
    manifests = load_json(fs.read("index.json"), "index.json").get("manifests") or []
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise SourceError("index.json: manifests is not a list of descriptors")
    return manifests


def _from_layout(fs, ref: str | None, platform: str | None) -> ImageSource:
    manifests = _layout_index(fs)
    if ref is None and len(manifests) > 1 and all("platform" in m for m in manifests):
        # index.json itself lists one image per platform: one multi-platform image.
        desc = {"mediaType": OCI_INDEX, "inline": {"manifests": manifests}}
    else:
        desc = refs.select(manifests, _layout_names, ref, "layout")
    name = (desc.get("annotations") or {}).get(REF_NAME)
    chosen_platform = None
    for _depth in range(MAX_DEPTH):
        if "inline" in desc:
            doc = desc["inline"]
            digest = None
        else:
            digest = desc.get("digest", "")
            doc = load_json(read_verified(fs, digest), f"manifest {digest}")
        if desc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
            desc, chosen_platform = _pick_platform(doc.get("manifests") or [], platform)
            continue
        layers = []
        for layer in doc.get("layers") or []:
            ldigest = layer["digest"]
            layers.append((ldigest, layer.get("mediaType", ""), blob_opener(fs, ldigest)[0]))
        config = read_verified(fs, doc["config"]["digest"])
        if chosen_platform is None:
            cfg = load_json(config, "image config")
            chosen_platform = f"{cfg.get('os', 'unknown')}/{cfg.get('architecture', 'unknown')}"
            if cfg.get("variant"):
                chosen_platform += "/" + cfg["variant"]
            if platform and not _platform_matches(chosen_platform, platform):
                raise PlatformNotFoundError(platform, [chosen_platform])
        return ImageSource(config, layers, digest or "", chosen_platform, name)
    raise SourceError("image indexes nest too deeply")


def _walk(fs, desc: dict, tree: ImageTree, seen: set[str], depth: int = 0) -> None:
    if depth >= MAX_DEPTH:
        raise SourceError("image indexes nest too deeply")
    digest = desc.get("digest", "")
    raw = read_verified(fs, digest)
    doc = load_json(raw, f"manifest {digest}")
    media_type = doc.get("mediaType") or desc.get("mediaType") or ""
    if media_type in INDEX_TYPES:
        for child in doc.get("manifests") or []:
            _walk(fs, child, tree, seen, depth + 1)
    elif media_type in MANIFEST_TYPES:
        for blob in [doc.get("config") or {}, *(doc.get("layers") or [])]:
            blob_digest = blob.get("digest")
            if blob_digest in seen:
                continue
            opener, size = blob_opener(fs, blob_digest)
            if size != blob.get("size"):
                raise SourceError(
                    f"blob {blob_digest} is {size} bytes but its descriptor says {blob.get('size')}"
                )
            seen.add(blob_digest)
            tree.blobs.append(TreeBlob(blob_digest, size, blob.get("mediaType", ""), opener))
    else:
        raise SourceError(f"manifest {digest} has unsupported media type {media_type!r}")
    tree.manifests.append(TreeManifest(raw, media_type, digest))


def _pick_platform(manifests: list[dict], platform: str | None) -> tuple[dict, str]:
    candidates = [m for m in manifests if _platform_of(m) != "unknown/unknown"]
    available = [_platform_of(m) for m in candidates]
    if platform:
        for m in candidates:
            if _platform_matches(_platform_of(m), platform):
                return m, _platform_of(m)
        raise PlatformNotFoundError(platform, available)
    if len(candidates) == 1:
        return candidates[0], available[0]
    for m in candidates:
        if _platform_matches(_platform_of(m), DEFAULT_PLATFORM):
            return m, _platform_of(m)
    raise PlatformNotFoundError(None, available)


@dataclass
class _Saved:
    """A ``docker save`` entry as an OCI image: its manifest is made here (canonical JSON)."""

    config: bytes
    layers: list[TreeBlob]
    manifest: bytes
    name: str | None


def _saved_image(fs: TarFS, ref: str | None) -> _Saved:
    entries = load_json(fs.read("manifest.json"), "manifest.json", list)
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise SourceError("manifest.json lists no image")
    entry = refs.select(entries, lambda e: list(e.get("RepoTags") or []), ref, "archive")
    try:
        config = fs.read(entry["Config"])
        paths = list(entry.get("Layers") or [])
    except (KeyError, TypeError) as exc:
        raise SourceError(f"manifest.json is incomplete: {exc}") from exc
    load_json(config, "image config")
    layers = []
    for path in paths:
        opener, size = fs.opener(path)
        hasher = hashlib.sha256()
        with opener() as f:
            head = f.read(4)
            hasher.update(head)
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
        digest = "sha256:" + hasher.hexdigest()
        layers.append(TreeBlob(digest, size, layer_media_type(head), opener))
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": b.media_type, "digest": b.digest, "size": b.size} for b in layers],
    }
    tags = entry.get("RepoTags") or []
    return _Saved(config, layers, canonical_json(manifest), tags[0] if tags else None)


def _from_docker_save(fs: TarFS, ref: str | None) -> ImageSource:
    saved = _saved_image(fs, ref)
    cfg = load_json(saved.config, "image config")
    platform = f"{cfg.get('os', 'unknown')}/{cfg.get('architecture', 'unknown')}"
    layers = [(b.digest, b.media_type, b.open) for b in saved.layers]
    digest = "sha256:" + hashlib.sha256(saved.manifest).hexdigest()
    return ImageSource(saved.config, layers, digest, platform, saved.name)


def _tree_of_docker_save(fs: TarFS, ref: str | None) -> ImageTree:
    saved = _saved_image(fs, ref)
    digest = "sha256:" + hashlib.sha256(saved.manifest).hexdigest()
    config_digest = "sha256:" + hashlib.sha256(saved.config).hexdigest()
    config = saved.config
    blobs = [TreeBlob(config_digest, len(config), OCI_CONFIG, lambda: io.BytesIO(config))]
    seen = {config_digest}
    for layer in saved.layers:
        if layer.digest not in seen:
            seen.add(layer.digest)
            blobs.append(layer)
    return ImageTree([TreeManifest(saved.manifest, OCI_MANIFEST, digest)], blobs, saved.name)


def _tree_of_layout(fs, ref: str | None) -> ImageTree:
    desc = refs.select(_layout_index(fs), _layout_names, ref, "layout")
    tree = ImageTree(name=(desc.get("annotations") or {}).get(REF_NAME))
    _walk(fs, desc, tree, set())
    return tree


def _open(path_spec: str, from_layout, from_docker_save):
    path, ref = split_spec(path_spec)
    fs = open_fs(path)
    try:
        if isinstance(fs, TarFS) and fs.has("manifest.json"):
            source = from_docker_save(fs, ref)
        elif fs.has("index.json"):
            source = from_layout(fs, ref)
        elif isinstance(fs, TarFS):
            raise SourceError(f"{path} has neither manifest.json nor index.json")
        else:
            raise SourceError(f"{path} is not an OCI image layout (no index.json)")
    except BaseException:
        fs.close()
        raise
    source._closers.append(fs.close)
    return source


def open_source(path_spec: str, platform: str | None = None) -> ImageSource:
    """Open one platform's image of ``DIR[:ref]`` (OCI layout) or ``FILE[:ref]`` (docker save
    or OCI layout tar)."""
    return _open(path_spec, lambda fs, ref: _from_layout(fs, ref, platform), _from_docker_save)


def open_image_tree(path_spec: str) -> ImageTree:
    """Every manifest and blob of the entry ``DIR[:ref]`` or ``FILE[:ref]`` names, as stored
    (a docker save entry gets a made OCI manifest). Manifests are verified against their
    digests here; blob contents are the caller's to verify while it copies them."""
    return _open(path_spec, _tree_of_layout, _tree_of_docker_save)
