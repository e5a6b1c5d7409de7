"""Local image sources: an OCI image layout directory (``DIR[:ref]``) or a tar archive holding
either a ``docker save`` image (``manifest.json``) or an OCI layout (``index.json``)."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from .archive import LayerInput
from .decompress import detect_compression
from .errors import PlatformNotFoundError, SourceError
from .index import index_layer

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"
DEFAULT_PLATFORM = "linux/amd64"


@dataclass
class ImageSource:
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

    def close(self) -> None:
        for closer in self._closers:
            closer()

    def __enter__(self) -> ImageSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Section:
    """A read-only window [offset, offset+size) of a file."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        self._file = open(path, "rb")
        self._file.seek(offset)
        self._offset = offset
        self._size = size
        self._left = size

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._size - self._left
        elif whence == 2:
            pos += self._size
        pos = max(0, min(pos, self._size))
        self._file.seek(self._offset + pos)
        self._left = self._size - pos
        return pos

    def tell(self) -> int:
        return self._size - self._left

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._file.read(n)
        self._left -= len(data)
        return data

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _Section:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Dir:
    def __init__(self, root: str) -> None:
        self.root = root

    def read(self, name: str) -> bytes:
        try:
            with open(os.path.join(self.root, name), "rb") as f:
                return f.read()
        except OSError as exc:
            raise SourceError(f"cannot read {name} in {self.root}: {exc.strerror}") from exc

    def opener(self, name: str) -> Callable[[], BinaryIO]:
        path = os.path.join(self.root, name)
        if not os.path.isfile(path):
            raise SourceError(f"missing blob {name} in {self.root}")
        return lambda: open(path, "rb")

    def close(self) -> None:
        pass


class _Tar:
    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.tar = tarfile.open(path, "r:")
        except (tarfile.TarError, OSError) as exc:
            raise SourceError(f"{path} is neither an OCI layout nor a readable tar: {exc}") from exc
        self.members = {}
        for member in self.tar.getmembers():
            self.members[os.path.normpath(member.name).lstrip("/")] = member

    def _member(self, name: str, depth: int = 0) -> tarfile.TarInfo:
        member = self.members.get(os.path.normpath(name).lstrip("/"))
        if member is None or depth > 8:
            raise SourceError(f"{name} not found in {self.path}")
        if member.issym():
            return self._member(os.path.join(os.path.dirname(name), member.linkname), depth + 1)
        if member.islnk():
            return self._member(member.linkname, depth + 1)
        return member

    def has(self, name: str) -> bool:
        return os.path.normpath(name).lstrip("/") in self.members

    def read(self, name: str) -> bytes:
        with self.opener(name)() as f:
            return f.read()

    def opener(self, name: str) -> Callable[[], BinaryIO]:
        member = self._member(name)
        offset, size, path = member.offset_data, member.size, self.path
        return lambda: _Section(path, offset, size)

    def close(self) -> None:
        self.tar.close()


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


def _load_json(data: bytes, what: str):
    try:
        return json.loads(data)
    except ValueError as exc:
        raise SourceError(f"{what} is not valid JSON: {exc}") from exc


def _blob_name(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    if not hexpart or "/" in digest or ".." in digest:
        raise SourceError(f"bad digest {digest!r}")
    return f"blobs/{algo}/{hexpart}"


def _read_verified(fs, digest: str) -> bytes:
    data = fs.read(_blob_name(digest))
    if digest.startswith("sha256:") and "sha256:" + hashlib.sha256(data).hexdigest() != digest:
        raise SourceError(f"blob {digest} does not match its digest")
    return data


def _from_layout(fs, ref: str | None, platform: str | None) -> ImageSource:
    index = _load_json(fs.read("index.json"), "index.json")
    manifests = index.get("manifests") or []
    if ref is not None:
        chosen = [
            m
            for m in manifests
            if m.get("digest") == ref or (m.get("annotations") or {}).get(REF_NAME) == ref
        ]
        if not chosen:
            names = sorted((m.get("annotations") or {}).get(REF_NAME, "") for m in manifests)
            raise SourceError(f"no image named {ref!r} in the layout; it has: {names}")
        desc = chosen[0]
    elif len(manifests) == 1:
        desc = manifests[0]
    elif manifests and all("platform" in m for m in manifests):
        desc = {"mediaType": next(iter(INDEX_TYPES)), "inline": index}
    else:
        names = sorted((m.get("annotations") or {}).get(REF_NAME, "?") for m in manifests)
        raise SourceError(
            f"the layout holds {len(manifests)} images; name one as DIR:ref ({names})"
        )
    name = (desc.get("annotations") or {}).get(REF_NAME)
    chosen_platform = None
    for _depth in range(4):
        if "inline" in desc:
            doc = desc["inline"]
            digest = None
        else:
            digest = desc.get("digest", "")
            doc = _load_json(_read_verified(fs, digest), f"manifest {digest}")
        if desc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
            desc, chosen_platform = _pick_platform(doc.get("manifests") or [], platform)
            continue
        layers = []
        for layer in doc.get("layers") or []:
            ldigest = layer["digest"]
            layers.append((ldigest, layer.get("mediaType", ""), fs.opener(_blob_name(ldigest))))
        config = _read_verified(fs, doc["config"]["digest"])
        if chosen_platform is None:
            cfg = _load_json(config, "image config")
            chosen_platform = f"{cfg.get('os', 'unknown')}/{cfg.get('architecture', 'unknown')}"
            if cfg.get("variant"):
                chosen_platform += "/" + cfg["variant"]
            if platform and not _platform_matches(chosen_platform, platform):
                raise PlatformNotFoundError(platform, [chosen_platform])
        return ImageSource(config, layers, digest or "", chosen_platform, name)
    raise SourceError("image indexes nest too deeply")


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


def _from_docker_save(fs: _Tar, ref: str | None) -> ImageSource:
    entries = _load_json(fs.read("manifest.json"), "manifest.json")
    if not isinstance(entries, list) or not entries:
        raise SourceError("manifest.json lists no image")
    if ref is not None:
        chosen = [e for e in entries if ref in (e.get("RepoTags") or [])]
        if not chosen:
            raise SourceError(f"no image tagged {ref!r} in the archive")
        entry = chosen[0]
    elif len(entries) == 1:
        entry = entries[0]
    else:
        tags = [t for e in entries for t in (e.get("RepoTags") or [])]
        raise SourceError(f"the archive holds {len(entries)} images; name one as FILE:tag ({tags})")
    config = fs.read(entry["Config"])
    layers = []
    for path in entry.get("Layers") or []:
        opener = fs.opener(path)
        hasher = hashlib.sha256()
        with opener() as f:
            head = f.read(4)
            hasher.update(head)
            while chunk := f.read(1 << 20):
                hasher.update(chunk)
        compression = detect_compression(head)
        media = "application/vnd.oci.image.layer.v1.tar" + {"none": "", "gzip": "+gzip"}.get(
            compression, "+zstd"
        )
        layers.append(("sha256:" + hasher.hexdigest(), media, opener))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"digest": d, "mediaType": m} for d, m, _ in layers],
    }
    manifest_digest = "sha256:" + hashlib.sha256(json.dumps(manifest).encode()).hexdigest()
    cfg = _load_json(config, "image config")
    platform = f"{cfg.get('os', 'unknown')}/{cfg.get('architecture', 'unknown')}"
    tags = entry.get("RepoTags") or []
    return ImageSource(config, layers, manifest_digest, platform, tags[0] if tags else None)


def open_source(path_spec: str, platform: str | None = None) -> ImageSource:
    """Open ``DIR[:ref]`` (OCI layout) or ``FILE[:ref]`` (docker save or OCI layout tar)."""
    path, ref = path_spec, None
    if not os.path.exists(path):
        head, sep, tail = path_spec.rpartition(":")
        if sep and head and "/" not in tail and os.path.exists(head):
            path, ref = head, tail
        else:
            raise SourceError(f"{path_spec}: no such file or directory")
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "index.json")):
            raise SourceError(f"{path} is not an OCI image layout (no index.json)")
        return _from_layout(_Dir(path), ref, platform)
    fs = _Tar(path)
    try:
        if fs.has("manifest.json"):
            source = _from_docker_save(fs, ref)
        elif fs.has("index.json"):
            source = _from_layout(fs, ref, platform)
        else:
            raise SourceError(f"{path} has neither manifest.json nor index.json")
    except BaseException:
        fs.close()
        raise
    source._closers.append(fs.close)
    return source
