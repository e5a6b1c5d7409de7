"""What the tag page shows of an image: its manifest, config (entrypoint, env, labels) and
layers with their sizes and the command that made each (the config's history)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from .mediatypes import IMAGE_CONFIGS
from .models import Manifest, ManifestChild
from .storage import get_storage

# Config blobs are small; a larger one is not an image config we display.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


@dataclass
class LayerInfo:
    position: int
    digest: str
    media_type: str
    size: int
    created_by: str = ""
    created: str = ""
    comment: str = ""


@dataclass
class ImageInfo:
    digest: str
    media_type: str
    config_digest: str
    config_media_type: str
    is_image: bool
    architecture: str = ""
    os: str = ""
    created: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    env: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    layers: list[LayerInfo] = field(default_factory=list)
    # History steps that made no layer (ENV, CMD...), for the full build history.
    empty_steps: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def as_dict(self) -> dict:
        return asdict(self) | {"size": self.size}


def platforms(manifest: Manifest) -> list[ManifestChild]:
    return list(manifest.children.select_related("child").order_by("position"))


def choose_child(children: list[ManifestChild], wanted: str = "") -> ManifestChild | None:
    """The child for ``wanted``, else linux/amd64, else the first."""
    for preferred in (wanted, "linux/amd64"):
        for child in children:
            if preferred and child.platform == preferred:
                return child
    return children[0] if children else None


def _config(manifest: Manifest) -> tuple[str, str, dict]:
    try:
        descriptor = json.loads(bytes(manifest.raw)).get("config") or {}
    except ValueError:
        descriptor = {}
    media_type = descriptor.get("mediaType", "")
    if manifest.config_blob_id is None or media_type not in IMAGE_CONFIGS:
        return descriptor.get("digest", ""), media_type, {}
    blob = manifest.config_blob
    if blob.size > MAX_CONFIG_BYTES:
        return blob.digest, media_type, {}
    try:
        with get_storage().open(blob.digest) as fh:
            return blob.digest, media_type, json.loads(fh.read())
    except (OSError, ValueError):
        return blob.digest, media_type, {}


def image_info(manifest: Manifest) -> ImageInfo:
    digest, media_type, config = _config(manifest)
    inner = config.get("config") or {}
    info = ImageInfo(
        digest=manifest.digest,
        media_type=manifest.media_type,
        config_digest=digest,
        config_media_type=media_type,
        is_image=media_type in IMAGE_CONFIGS,
        architecture=config.get("architecture", ""),
        os=config.get("os", ""),
        created=config.get("created", ""),
        entrypoint=list(inner.get("Entrypoint") or []),
        cmd=list(inner.get("Cmd") or []),
        working_dir=inner.get("WorkingDir") or "",
        user=inner.get("User") or "",
        env=list(inner.get("Env") or []),
        labels=dict(inner.get("Labels") or {}),
        exposed_ports=sorted(inner.get("ExposedPorts") or {}),
    )
    layers = list(manifest.layers.select_related("blob").order_by("position"))
    steps = [h for h in config.get("history") or [] if isinstance(h, dict)]
    made = iter([h for h in steps if not h.get("empty_layer")])
    info.empty_steps = [h.get("created_by", "") for h in steps if h.get("empty_layer")]
    for layer in layers:
        step = next(made, {})
        info.layers.append(
            LayerInfo(
                position=layer.position,
                digest=layer.blob.digest,
                media_type=layer.media_type,
                size=layer.size,
                created_by=step.get("created_by", ""),
                created=step.get("created", ""),
                comment=step.get("comment", ""),
            )
        )
    return info


@dataclass
class TagImage:
    """A tag's manifest and, for an index, the platform shown (with all of them listed)."""

    manifest: Manifest
    image: Manifest | None  # the single-platform manifest shown; None for an empty index
    platform: str
    children: list[ManifestChild]


def tag_image(manifest: Manifest, platform: str = "") -> TagImage:
    if not manifest.is_index:
        return TagImage(manifest, manifest, "", [])
    children = platforms(manifest)
    child = choose_child(children, platform)
    return TagImage(
        manifest, child.child if child else None, child.platform if child else "", children
    )
