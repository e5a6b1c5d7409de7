"""The "what squashing saves" chart as server-rendered SVG (no script, no CDN): the layered size
against the squashed size, then one stacked bar per layer (content kept, overwritten by an upper
layer, deleted by an upper layer). Every number is also in a data-value attribute in bytes."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from quaysquash.squash.savings import Savings

from .templatetags.qs import size as human

WIDTH = 880
LABEL = 170  # left column: the row's name
BAR = 400  # bar area
ROW = 26
COLOURS = {"kept": "#0066cc", "overwritten": "#f0ab00", "deleted": "#c9190b", "squashed": "#3e8635"}


def _bar(x: float, y: float, width: float, colour: str, title: str) -> str:
    # Keep a sliver visible for non-zero values on a scale dominated by a big layer.
    return (
        f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="16" fill="{colour}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _scaled(value: int, scale: int) -> float:
    if value <= 0 or scale <= 0:
        return 0.0
    return max(BAR * value / scale, 1.5)


def _text(
    x: float,
    y: float,
    text: str,
    *,
    field: str = "",
    value: int | None = None,
    layer=None,
    anchor="start",
    cls="",
) -> str:
    attrs = f' data-field="{field}"' if field else ""
    if value is not None:
        attrs += f' data-value="{value}"'
    if layer is not None:
        attrs += f' data-layer="{layer}"'
    if cls:
        attrs += f' class="{cls}"'
    return f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}"{attrs}>{escape(text)}</text>'


def savings_svg(savings: Savings) -> SafeString:
    parts: list[str] = []
    y = 30
    parts.append(_text(0, 14, "Size (uncompressed)", cls="chart-heading"))
    scale = max(savings.layered_tar, savings.squashed_tar, 1)
    for label, value, colour, field in (
        (
            f"Layered ({len(savings.layers)} layers)",
            savings.layered_tar,
            COLOURS["kept"],
            "layered_tar",
        ),
        ("Squashed (1 layer)", savings.squashed_tar, COLOURS["squashed"], "squashed_tar"),
    ):
        parts.append(_text(0, y + 12, label))
        parts.append(_bar(LABEL, y, _scaled(value, scale), colour, f"{label}: {value} bytes"))
        parts.append(_text(LABEL + BAR + 8, y + 12, human(value), field=field, value=value))
        y += ROW
    parts.append(
        _text(
            0,
            y + 12,
            f"Saved by squashing: {human(savings.saved_bytes)}",
            field="saved_bytes",
            value=savings.saved_bytes,
            cls="chart-strong",
        )
    )
    y += ROW + 16
    parts.append(
        _text(
            0,
            y,
            "File content per layer: kept / overwritten / deleted by upper layers",
            cls="chart-heading",
        )
    )
    y += 12
    layer_scale = max([layer.file_bytes for layer in savings.layers] + [1])
    for layer in savings.layers:
        n = layer.position
        parts.append(
            f'<g class="layer-row" data-layer="{n}" data-kept="{layer.kept_bytes}" '
            f'data-overwritten="{layer.overwritten_bytes}" data-deleted="{layer.deleted_bytes}" '
            f'data-overwritten-files="{layer.overwritten_files}" '
            f'data-deleted-files="{layer.deleted_files}">'
        )
        parts.append(_text(0, y + 12, f"Layer {n + 1} ({layer.digest[7:19]})"))
        x = float(LABEL)
        for part, value in (
            ("kept", layer.kept_bytes),
            ("overwritten", layer.overwritten_bytes),
            ("deleted", layer.deleted_bytes),
        ):
            width = _scaled(value, layer_scale)
            if width:
                parts.append(
                    _bar(x, y, width, COLOURS[part], f"layer {n + 1} {part}: {value} bytes")
                )
                x += width
        lost = (
            ", ".join(
                f"−{human(value)} {what}"
                for what, value in (
                    ("overwritten", layer.overwritten_bytes),
                    ("deleted", layer.deleted_bytes),
                )
                if value
            )
            or "nothing lost"
        )
        parts.append(
            _text(
                LABEL + BAR + 8, y + 12, lost, field="lost_bytes", value=layer.lost_bytes, layer=n
            )
        )
        parts.append("</g>")
        y += ROW
    y += 8
    legend_x = float(LABEL)
    for part in ("kept", "overwritten", "deleted"):
        parts.append(
            f'<rect x="{legend_x}" y="{y}" width="12" height="12" fill="{COLOURS[part]}"/>'
        )
        parts.append(_text(legend_x + 16, y + 11, part))
        legend_x += 110
    height = y + 24
    summary = (
        f"Layered {human(savings.layered_tar)}, squashed {human(savings.squashed_tar)}: "
        f"squashing saves {human(savings.saved_bytes)}; upper layers overwrite "
        f"{human(savings.overwritten_bytes)} and delete {human(savings.deleted_bytes)}."
    )
    return mark_safe(
        f'<svg class="savings-chart" role="img" aria-labelledby="savings-title savings-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="savings-title">What squashing saves</title>'
        f'<desc id="savings-desc">{escape(summary)}</desc>' + "".join(parts) + "</svg>"
    )
