"""Pieces of the self-contained HTML report: figures and grids as inline PNG, tables, sections."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass
from typing import Any

from torch import Tensor


@dataclass
class Section:
    title: str
    html: str
    order: int = 50


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def img_html(png: bytes, alt: str = "", width: int | None = None) -> str:
    w = f' width="{width}"' if width else ""
    return f'<img src="{png_data_uri(png)}" alt="{html.escape(alt)}"{w}>'


def figure_html(fig, alt: str = "figure", dpi: int = 100) -> str:
    """A matplotlib figure -> inline <img> (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return img_html(buf.getvalue(), alt)


def image_grid_html(images: Tensor, nrow: int | None = None, alt: str = "images", scale: int | None = None) -> str:
    """(B, C, H, W) in [0, 1] -> inline <img> of a grid, small images enlarged."""
    from generativa.io.grids import auto_scale, make_grid, to_pil

    scale = auto_scale(images.shape[-2]) if scale is None else scale
    buf = io.BytesIO()
    to_pil(make_grid(images, nrow), scale).save(buf, format="PNG")
    return img_html(buf.getvalue(), alt)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return html.escape(str(v))


def table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p><em>nothing to show</em></p>"
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c, ''))}</td>" for c in cols) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(title: str, sections: list[Section], subtitle: str = "") -> str:
    toc = "".join(f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections))
    body = "".join(f'<section id="s{i}"><h2>{html.escape(s.title)}</h2>{s.html}</section>'
                   for i, s in enumerate(sections))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }}
h1 {{ margin-bottom: .2rem; }} .sub {{ color: #666; margin-top: 0; }}
section {{ margin: 2rem 0; }} h2 {{ border-bottom: 1px solid #ddd; padding-bottom: .3rem; }}
table {{ border-collapse: collapse; font-size: .9rem; }} td, th {{ border: 1px solid #ddd; padding: .25rem .6rem; text-align: left; }}
th {{ background: #f5f5f5; }} img {{ max-width: 100%; image-rendering: pixelated; }}
pre {{ background: #f7f7f7; padding: .8rem; overflow-x: auto; font-size: .85rem; }}
.grids {{ display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }} .grids figure {{ margin: 0; }}
figcaption {{ color: #555; font-size: .85rem; }} nav ul {{ columns: 3; }}
</style></head><body>
<h1>{html.escape(title)}</h1><p class="sub">{subtitle}</p>
<nav><ul>{toc}</ul></nav>{body}
</body></html>
"""
