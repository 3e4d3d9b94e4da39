"""A cell drawn as a graph: ops as labelled boxes on a layered (left-to-right) DAG layout.

The layout is computed here rather than by graphviz (not a Python dependency): nodes are put
as late as possible (each op right before its first consumer, inputs in the first column), which
keeps the edge ops of an op-on-edge cell such as NAS-Bench-201's next to the node they feed;
long edges get waypoints and barycentre sweeps order each column to reduce crossings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from nasir.ir import Arch
from nasir.report._figure import new_figure, save

__all__ = ["CellLayout", "cell_layout", "draw_cell", "node_label"]

_COLOURS = {"conv": "#9ecae1", "pool": "#a1d99b", "identity": "#fff3b0", "zero": "#eeeeee", "input": "#d9d9d9",
            "output": "#d9d9d9", "merge": "#ffffff"}


@dataclass(frozen=True)
class CellLayout:
    """Where to draw: ``nodes`` maps a node to ``(x, y)`` (x is its column); ``routes`` maps an edge
    ``(src, dst, port)`` to the points it passes through, ends included."""

    nodes: dict[str, tuple[float, float]]
    routes: dict[tuple[str, str, int], list[tuple[float, float]]]


def cell_layout(arch: Arch, sweeps: int = 4) -> CellLayout:
    """A layered left-to-right layout (Sugiyama style) of ``arch``.

    Columns: as late as possible, inputs first. An edge spanning several columns gets a waypoint in
    each column it crosses, which takes a slot there, so long edges run between boxes, not
    through them. Each column is ordered by the mean slot of its neighbours, sweeping forward and
    backward ``sweeps`` times, then centred around y = 0.
    """
    depth = max(nx.dag_longest_path_length(arch.to_networkx()), 1)
    column: dict[str, int] = {}
    for node in reversed(arch.nodes):
        succ = arch.successors(node)
        column[node] = depth if not succ else min(column[s] for s in succ) - 1
    for node in arch.input_nodes:
        column[node] = 0
    preds: dict[object, list[object]] = {n: [] for n in arch.nodes}
    succs: dict[object, list[object]] = {n: [] for n in arch.nodes}
    chains: dict[tuple[str, str, int], list[object]] = {}
    for edge in arch.edges:
        src, dst, _ = edge
        chain: list[object] = [src, *((edge, c) for c in range(column[src] + 1, column[dst])), dst]
        for a, b in zip(chain, chain[1:]):
            succs.setdefault(a, []).append(b)
            preds.setdefault(b, []).append(a)
        for waypoint in chain[1:-1]:
            column[waypoint] = waypoint[1]
        chains[edge] = chain
    columns: dict[int, list[object]] = {}
    for item in [*arch.nodes, *(w for chain in chains.values() for w in chain[1:-1])]:
        columns.setdefault(column[item], []).append(item)
    slot = {item: i for col in columns.values() for i, item in enumerate(col)}
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        neighbours = preds if forward else succs
        for x in sorted(columns, reverse=not forward):
            def centre(item: object) -> float:
                near = neighbours[item]
                return sum(slot[n] for n in near) / len(near) if near else slot[item]
            columns[x].sort(key=centre)
            slot.update({item: i - (len(columns[x]) - 1) / 2 for i, item in enumerate(columns[x])})
    where = {item: (float(column[item]), -slot[item]) for item in slot}
    return CellLayout({n: where[n] for n in arch.nodes}, {e: [where[p] for p in chain] for e, chain in chains.items()})


def node_label(arch: Arch, node: str) -> str:
    """The op, with its kernel as ``3x3`` when it has one (what distinguishes ops of one kind)."""
    attrs = arch.attrs(node)
    kernel = attrs.get("kernel")
    return f"{arch.op(node)}\n{kernel}x{kernel}" if isinstance(kernel, int) else arch.op(node)


def _kind(op: str) -> str:
    if op in ("input", "output", "identity", "zero"):
        return op
    if "conv" in op:
        return "conv"
    if "pool" in op:
        return "pool"
    return "merge"


def draw_cell(arch: Arch, path: str | Path | None = None, *, fmt: str | None = None, title: str | None = None,
              labels: Mapping[str, str] | None = None, dpi: int = 110) -> bytes:
    """The cell as PNG or SVG bytes (also written to ``path``; format from ``fmt`` or the suffix).

    ``labels`` overrides the text of chosen nodes (default: :func:`node_label`). Edges leaving a
    ``zero`` op are dashed: that branch carries nothing.
    """
    layout = cell_layout(arch)
    xs = [x for x, _ in layout.nodes.values()]
    ys = [y for route in layout.routes.values() for _, y in route] + [y for _, y in layout.nodes.values()]
    width, low, high = max(xs) + 1, min(ys), max(ys)
    fig = new_figure(max(4.0, 1.45 * width), max(2.0, 0.8 * (high - low + 1) + (0.5 if title else 0.2)))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(low - 0.5, high + 0.5)
    boxes = {}
    for node, (x, y) in layout.nodes.items():
        kind = _kind(arch.op(node))
        text = (labels or {}).get(node) or node_label(arch, node)
        boxes[node] = ax.text(x, y, text, ha="center", va="center", fontsize=8, zorder=3,
                              color="#888888" if kind == "zero" else "#111111",
                              bbox={"boxstyle": "round,pad=0.35", "fc": _COLOURS[kind], "ec": "#555555",
                                    "ls": "--" if kind == "zero" else "-"})
    for (src, dst, port), route in layout.routes.items():
        dead = arch.op(src) == "zero"
        style = {"color": "#aaaaaa" if dead else "#333333", "lw": 1.0, "ls": "--" if dead else "-"}
        for k, (a, b) in enumerate(zip(route, route[1:])):  # waypoint to waypoint; clipped at the boxes at both ends
            last = k == len(route) - 2
            ends = {"patchA": boxes[src].get_bbox_patch()} if k == 0 else {}
            ends |= {"patchB": boxes[dst].get_bbox_patch()} if last else {}
            ax.annotate("", xy=b, xytext=a, zorder=2, arrowprops={"arrowstyle": "-|>" if last else "-", "shrinkA": 2 if k == 0 else 0,
                                                                  "shrinkB": 2 if last else 0, **ends, **style})
    if title:
        ax.set_title(title, fontsize=8, family="monospace")
    return save(fig, path, fmt, dpi)
