"""An op-level latency lookup table (in the spirit of nn-Meter, MobiSys'21, and HW-NAS-Bench, ICLR'21).

Build once per device: every distinct (op, attributes, input shapes) of the networks to predict is
exported and timed on onnxruntime once. A shape-preserving op (every NB201 cell op, NB101 convs
and pools) is timed as a chain of ``chain`` copies and of one copy, and its entry is the
difference per extra copy, so the per-call cost of a session run (Python, input copy, output
allocation) cancels out; other ops (stems, reductions, heads, concat) are timed alone minus an
identity model on the same input. A network's prediction is the sum of its nodes' entries mapped
through a linear overhead model ``a * sum + b * nodes + c``, fitted by least squares on a few
measured networks (what single ops can't see: per-node dispatch, cache effects, fusions).
Predicting needs no session: it is a table lookup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasir.ir import Arch, Network, get_op, infer_shapes
from nasir.backends.onnx.latency import LatencyCache, fingerprint, measure
from nasir.backends.onnx.runtime import provider_name

__all__ = ["LatencyTable", "op_signatures"]

_FREE = ("input", "output", "identity")  # ops that lower to no ONNX node


def op_signatures(network: Network) -> list[str]:
    """One key per costed node, in network order: JSON of [op, attributes, input shapes]."""
    keys = []
    shapes_in = network.block_input_shapes()
    for block in network.blocks:
        arch = block.arch
        shapes = infer_shapes(arch, shapes_in[block.name])
        for node in arch.nodes:
            if arch.op(node) not in _FREE:
                ins = [list(shapes[p]) for p in arch.inputs(node)]
                keys.append(json.dumps([arch.op(node), dict(sorted(arch.attrs(node).items())), ins]))
    return keys


def _chainable(op: str, attrs: dict, ins: list[list[int]]) -> bool:
    out = get_op(op).shape([tuple(s) for s in ins], get_op(op).resolve_attrs(attrs))
    return all(tuple(s) == tuple(out) for s in ins)


def _chain(op: str, attrs: dict, arity: int, copies: int) -> Arch:
    """input -> op -> op -> ... (``copies`` times) -> output; extra ports read identity branches of the previous tensor."""
    nodes: dict[str, Any] = {"in": "input", "out": "output"}
    edges: list[tuple[str, str, int]] = []
    prev = "in"
    for j in range(copies):
        nodes[f"op{j}"] = (op, attrs)
        edges.append((prev, f"op{j}", 0))
        for port in range(1, arity):
            nodes[f"id{j}_{port}"] = "identity"
            edges += [(prev, f"id{j}_{port}", 0), (f"id{j}_{port}", f"op{j}", port)]
        prev = f"op{j}"
    return Arch(nodes, edges + [(prev, "out", 0)])


def _alone(op: str, attrs: dict, arity: int) -> Arch:
    ins = {f"in{k}": ("input", {"index": k}) for k in range(arity)}
    return Arch({**ins, "op": (op, attrs), "out": "output"}, [*((f"in{k}", "op", k) for k in range(arity)), ("op", "out", 0)])


class LatencyTable:
    """Per-op latencies on one device plus a fitted overhead model (scikit-learn shaped).

    Args:
        provider, threads, batch, warmup, repeats, runs: measurement settings (see :func:`measure`).
        chain: copies of a shape-preserving op in its chained timing model.
        cache: optional :class:`LatencyCache` (or path) so op timings survive between builds.

    Attributes (after :meth:`build` / :meth:`fit`):
        table_: op signature -> milliseconds; coef_: ``(a, b, c)``; device_: the fingerprint.
    """

    def __init__(self, *, provider: str = "cpu", threads: int = 1, batch: int = 1, warmup: int = 10, repeats: int = 100,
                 runs: int = 3, chain: int = 8, cache: LatencyCache | str | Path | None = None) -> None:
        self.provider, self.threads, self.batch = provider, threads, batch
        self.warmup, self.repeats, self.runs, self.chain, self.cache = warmup, repeats, runs, chain, cache

    def _settings(self) -> dict[str, Any]:
        return {"provider": self.provider, "threads": self.threads, "batch": self.batch, "warmup": self.warmup,
                "repeats": self.repeats, "runs": self.runs}

    def _time(self, arch: Arch, shapes: Sequence[Sequence[int]]) -> float:
        # The fastest of the runs' medians: an entry is timed once and reused for every prediction, so a
        # burst of contention from other processes during one run must not end up in the table.
        result = measure(arch, input_shapes=[tuple(s) for s in shapes], cache=self.cache, **self._settings())
        return min(result.run_medians_ms)

    def _entry(self, key: str) -> float:
        op, attrs, ins = json.loads(key)
        if _chainable(op, attrs, ins):
            many, one = self._time(_chain(op, attrs, len(ins), self.chain), ins[:1]), self._time(_chain(op, attrs, len(ins), 1), ins[:1])
            return max((many - one) / (self.chain - 1), 0.0)
        alone = self._time(_alone(op, attrs, len(ins)), ins)
        return max(alone - self._time(_chain("identity", {}, 1, 1), ins[:1]), 0.0)

    def build(self, networks: Iterable[Network]) -> LatencyTable:
        """Times every op of ``networks`` that is not in the table yet."""
        if not hasattr(self, "table_"):
            self.table_: dict[str, float] = {}
            self.coef_ = np.array([1.0, 0.0, 0.0])
            self.device_ = fingerprint(provider_name(self.provider), self.threads)
        for network in networks:
            for key in op_signatures(network):
                if key not in self.table_:
                    self.table_[key] = self._entry(key)
        return self

    def features(self, network: Network) -> np.ndarray:
        """``[sum of table entries, costed nodes, 1]`` for one network."""
        keys = op_signatures(network)
        missing = [k for k in keys if k not in getattr(self, "table_", {})]
        if missing:
            raise KeyError(f"{len(missing)} op(s) of network {network.name!r} are not in the table (first: {missing[0]}); "
                           "call build() with this network first")
        return np.array([sum(self.table_[k] for k in keys), len(keys), 1.0])

    def fit(self, networks: Sequence[Network], measured_ms: Sequence[float]) -> LatencyTable:
        """Builds the table for ``networks`` and fits the overhead model to their measured latencies."""
        self.build(networks)
        X = np.stack([self.features(n) for n in networks])
        self.coef_, *_ = np.linalg.lstsq(X, np.asarray(measured_ms, dtype=float), rcond=None)
        return self

    def predict(self, networks: Network | Sequence[Network]) -> float | np.ndarray:
        """Predicted milliseconds per batch (a float for one network, an array for several)."""
        if isinstance(networks, Network):
            return float(self.features(networks) @ self.coef_)
        return np.array([self.features(n) @ self.coef_ for n in networks])

    def save(self, path: str | Path) -> None:
        data = {"settings": {**self._settings(), "chain": self.chain}, "device": self.device_, "table": self.table_,
                "coef": self.coef_.tolist()}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        data = json.loads(Path(path).read_text())
        table = cls(**data["settings"])
        table.table_, table.coef_, table.device_ = data["table"], np.array(data["coef"]), data["device"]
        return table
