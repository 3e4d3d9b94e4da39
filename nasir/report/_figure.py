"""The one place matplotlib is imported: Agg figures without pyplot's global state, saved to bytes."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

from nasir.errors import MissingDependencyError, ReportInputError

__all__ = ["new_figure", "save", "data_uri"]

FORMATS = ("png", "svg")


def new_figure(width: float, height: float) -> Any:
    """A matplotlib ``Figure`` bound to the Agg canvas (no display, thread-safe, no pyplot)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("drawing pictures needs matplotlib: pip install 'nasir[viz]'") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: str | Path | None = None, fmt: str | None = None, dpi: int = 110) -> bytes:
    """The figure as PNG or SVG bytes (format from ``fmt``, else the path's suffix, else PNG), also written to ``path``."""
    fmt = (fmt or (Path(path).suffix.lstrip(".") if path else "") or "png").lower()
    if fmt not in FORMATS:
        raise ReportInputError(f"pictures are written as {' or '.join(FORMATS)}, not {fmt!r}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata={"Software": "nasir"} if fmt == "png" else {"Creator": "nasir"})
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def data_uri(data: bytes, fmt: str = "png") -> str:
    """A ``data:`` URI, so an HTML page carries its images inside itself."""
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
