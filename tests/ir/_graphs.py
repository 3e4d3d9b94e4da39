"""Hypothesis strategies for random valid architecture DAGs."""

from __future__ import annotations

from hypothesis import strategies as st

from nasir.ir import Arch

UNARY = [("relu_conv_bn", {"kernel": 3}), ("relu_conv_bn", {"kernel": 1}), ("avg_pool", {}), ("identity", {}), ("zero", {}), ("relu", {})]


@st.composite
def random_arch(draw: st.DrawFn, max_nodes: int = 8) -> Arch:
    """A random valid DAG: unary ops and adds over earlier nodes, all sinks summed into the output."""
    n = draw(st.integers(1, max_nodes))
    nodes: dict = {"in": "input"}
    edges: list[tuple[str, str]] = []
    names = ["in"]
    for k in range(n):
        name = f"v{k}"
        if k and draw(st.booleans()):
            srcs = draw(st.lists(st.sampled_from(names), min_size=2, max_size=3, unique=True))
            nodes[name] = ("add", {})
        else:
            srcs = [draw(st.sampled_from(names))]
            nodes[name] = UNARY[draw(st.integers(0, len(UNARY) - 1))]
        edges.extend((s, name) for s in srcs)
        names.append(name)
    used = {s for s, _ in edges}
    sinks = [v for v in names if v not in used]
    if len(sinks) > 1:
        nodes["sink"] = ("add", {})
        edges.extend((s, "sink") for s in sinks)
        sinks = ["sink"]
    nodes["out"] = "output"
    edges.append((sinks[0], "out"))
    return Arch(nodes, edges)
