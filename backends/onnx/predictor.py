"""An op-level latency lookup table (in the spirit of nn-Meter, MobiSys'21, and HW-NAS-Bench, ICLR'21).

Build once per device: every distinct (op, attributes, input shapes) of the networks to predict is
exported and timed on onnxruntime once. A shape-preserving op (every NB201 cell op, NB101 convs
and pools) is timed as a chain of ``chain`` copies and of one copy, and its entry is the
difference per extra copy, so the per-call cost of a session run (Python, input copy, output
allocation) cancels out; other ops (stems, reductions, heads, concat) are timed alone minus an
identity model on the same input.

A network's units are the nodes onnxruntime really runs: its common-subexpression elimination
computes a weight-free node (pool, ``zero``, add, activation) once when an earlier node of the
block applies the same op to the same tensors, so such repeats cost nothing (an NB201 cell with
``avg_pool~0`` on two edges runs one pool), and single-input adds lower to no node.

What single ops cannot show is where onnxruntime's CPU provider converts tensors between its
blocked NCHWc layout (convs, pools) and plain NCHW (e.g. the ``Mul`` of a ``zero`` edge, adds of
mixed operands): those ``Reorder`` kernels cost as much as the cheap ops around them and decide
small networks' latency. Their placement depends on the whole graph, so it is read from the graph
onnxruntime optimises for the network (:func:`layout_conversions`; the session is never run).
The prediction is ``sum over op types of s_op * (that type's table total) + r_in * (elements
reordered into NCHWc) + r_out * (elements reordered out) + c``. The per-type factors ``s_op``
carry what a chained timing still misses (fusions, cache reuse), ``c`` the session call; there
is no per-node term, as a chained entry already holds its node's dispatch. All are fitted on
relative error to a few measured networks that should be disjoint from the ones to predict, with
a ridge pull of ``s_op`` toward 1 (the plain table). Predicting measures nothing: a table lookup
plus, with ``layout``, one export and graph optimisation (50-100 ms a network).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from nasir.errors import BenchmarkQueryError, SchemaError
from nasir.ir import Arch, Network, get_op, infer_shapes
from nasir.backends.onnx.latency import LatencyCache, fingerprint, measure
from nasir.backends.onnx.export import export
from nasir.backends.onnx.runtime import ort_module, provider_name

__all__ = ["LatencyTable", "layout_conversions", "op_signatures"]

_FREE = ("input", "output", "identity")  # ops that lower to no ONNX node


def _weightless(op: str, attrs: dict, ins: list[tuple[int, ...]], out: tuple[int, ...]) -> bool:
    spec = get_op(op)
    return not spec.weights(ins, out, spec.resolve_attrs(attrs))


def op_signatures(network: Network, *, merge: bool = True) -> list[str]:
    """One key per node onnxruntime runs, in network order: JSON of [op, attributes, input shapes].

    With ``merge`` (what onnxruntime does at its basic optimisation level), a weight-free node
    that repeats an earlier node of its block (same op and attributes on the same tensors, after
    aliasing identities and earlier repeats) is dropped, and so is a single-input add (no node).
    """
    keys = []
    shapes_in = network.block_input_shapes()
    for block in network.blocks:
        arch = block.arch
        shapes = infer_shapes(arch, shapes_in[block.name])
        alias: dict[str, str] = {}  # node -> the node whose tensor it is
        seen: dict[tuple, str] = {}
        for node in arch.nodes:
            op, attrs, preds = arch.op(node), dict(sorted(arch.attrs(node).items())), list(arch.inputs(node))
            srcs = tuple(alias.get(p, p) for p in preds)
            if op in _FREE or (merge and op == "add" and len(preds) == 1):
                if preds:
                    alias[node] = srcs[0]
                continue
            ins = [tuple(shapes[p]) for p in preds]
            if merge and _weightless(op, attrs, ins, tuple(shapes[node])):
                twin = seen.setdefault((op, json.dumps(attrs), srcs), node)
                if twin != node:
                    alias[node] = twin
                    continue
            keys.append(json.dumps([op, attrs, [list(i) for i in ins]]))
    return keys


_LAYOUT = ("ReorderInput", "ReorderOutput")  # onnxruntime's NCHWc layout conversions (CPU provider)


def layout_conversions(network: Network) -> dict[str, float]:
    """Millions of elements that onnxruntime's CPU provider converts between layouts, per direction.

    Its NCHWc transformer runs convs and pools in a blocked channel layout and inserts a
    ``ReorderInput``/``ReorderOutput`` wherever such a kernel meets one that runs in plain NCHW
    (an NB201 ``zero`` edge's ``Mul``, an add of mixed operands, the head). Where they go depends on
    the whole graph, so instead of imitating the transformer this asks it: the network is exported
    and optimised in a session that never runs (50-100 ms, no timing), and each
    conversion is sized by its tensor's shape in the exported graph.
    """
    ort = ort_module()
    model = export(network)
    inferred = onnx.shape_inference.infer_shapes(model).graph
    size = {v.name: float(np.prod([d.dim_value for d in v.type.tensor_type.shape.dim[1:]]))
            for v in [*inferred.value_info, *inferred.input, *inferred.output]}
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.log_severity_level = 1, 3
        options.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        nodes = onnx.load(options.optimized_model_filepath).graph.node
    moved = dict.fromkeys(_LAYOUT, 0.0)
    for node in nodes:
        if node.op_type in _LAYOUT:
            moved[node.op_type] += size[node.input[0] if node.op_type == "ReorderInput" else node.output[0]] / 1e6
    return moved


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


def _op(key: str) -> str:
    return json.loads(key)[0]


class LatencyTable:
    """Per-op latencies on one device plus a fitted overhead model (scikit-learn shaped).

    Args:
        provider, threads, batch, warmup, repeats, runs: measurement settings (see :func:`measure`).
        chain: copies of a shape-preserving op in its chained timing model.
        cache: optional :class:`LatencyCache` (or path) so op timings survive between builds.
        ridge: pull of the per-op-type factors toward 1 in :meth:`fit` (0: plain least squares);
            an op type whose total barely varies between the fitted networks stays near its table value.
        merge: drop the nodes onnxruntime computes once (see :func:`op_signatures`); ``False``
            costs every IR node, as the first version of this table did (kept for comparisons).
        layout: add the layout conversions onnxruntime inserts (:func:`layout_conversions`) as two
            more fitted terms, milliseconds per million elements (default: on for the CPU provider,
            the only one with that transformer).

    Attributes (after :meth:`build` / :meth:`fit`):
        table_: op signature -> milliseconds; scale_: op type -> factor (absent: 1), and layout
        conversion -> milliseconds per million elements (absent: 0); intercept_: milliseconds per
        call; device_: the fingerprint.
    """

    def __init__(self, *, provider: str = "cpu", threads: int = 1, batch: int = 1, warmup: int = 10, repeats: int = 100,
                 runs: int = 3, chain: int = 8, cache: LatencyCache | str | Path | None = None, ridge: float = 0.1,
                 merge: bool = True, layout: bool | None = None) -> None:
        self.provider, self.threads, self.batch = provider, threads, batch
        self.warmup, self.repeats, self.runs, self.chain, self.cache = warmup, repeats, runs, chain, cache
        self.ridge, self.merge = ridge, merge
        self.layout = provider == "cpu" if layout is None else layout

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
            self.scale_: dict[str, float] = {}
            self.intercept_ = 0.0
            self.device_ = fingerprint(provider_name(self.provider), self.threads)
        for network in networks:
            for key in op_signatures(network, merge=self.merge):
                if key not in self.table_:
                    self.table_[key] = self._entry(key)
        return self

    def missing(self, network: Network) -> list[str]:
        """The op signatures of ``network`` the table has no timing for (what :meth:`build` would measure)."""
        table = getattr(self, "table_", {})
        return [k for k in op_signatures(network, merge=self.merge) if k not in table]

    def built_here(self) -> bool:
        """Whether this machine is the table's device (same CPU or GPU, cores, provider, threads): only then may
        :meth:`build` add timings to it, or a prediction would mix two devices."""
        here = fingerprint(provider_name(self.provider), self.threads)
        fields = ("runtime", "cpu", "cores", "machine", "provider", "threads", "gpu")
        return all(self.device_.get(f) == here.get(f) for f in fields)

    def totals(self, network: Network) -> dict[str, float]:
        """Table milliseconds summed per op type for one network (with ``layout``, plus millions of
        elements per layout conversion)."""
        keys = op_signatures(network, merge=self.merge)
        missing = self.missing(network)
        if missing:
            raise BenchmarkQueryError(f"{len(missing)} op(s) of network {network.name!r} are not in the table (first: "
                                      f"{missing[0]}); call build() with this network first")
        per_op: dict[str, float] = {}
        for key in keys:
            per_op[_op(key)] = per_op.get(_op(key), 0.0) + self.table_[key]
        return {**per_op, **layout_conversions(network)} if self.layout else per_op

    def fit(self, networks: Sequence[Network], measured_ms: Sequence[float]) -> LatencyTable:
        """Builds the table for ``networks`` and fits the per-op-type factors and ``c`` to their latencies.

        Least squares on relative error (rows divided by the measured latency: the error that
        matters is a share of the latency), with a ridge penalty on ``s_op - 1`` scaled to each
        column, so the factors move away from the table only as far as the networks demand; the
        layout terms have no table value to stay near and are not penalised.
        """
        self.build(networks)
        y = np.asarray(measured_ms, dtype=float)
        totals = [self.totals(n) for n in networks]
        ops = sorted({op for per_op in totals for op in per_op})
        prior = np.array([0.0 if op in _LAYOUT else 1.0 for op in ops] + [0.0])
        X = np.array([[per_op.get(op, 0.0) for op in ops] + [1.0] for per_op in totals]) / y[:, None]
        target = 1.0 - X @ prior  # the share of each latency the plain table (all s_op = 1) leaves out
        penalty = np.sqrt(self.ridge) * np.diag(prior * np.sqrt((X ** 2).mean(0)))
        delta, *_ = np.linalg.lstsq(np.r_[X, penalty], np.r_[target, np.zeros(len(ops) + 1)], rcond=None)
        self.scale_ = {op: float(p + d) for op, p, d in zip(ops, prior, delta)}
        self.intercept_ = float(delta[-1])
        return self

    def _predict_one(self, network: Network) -> float:
        return sum(self.scale_.get(op, 0.0 if op in _LAYOUT else 1.0) * v for op, v in self.totals(network).items()) + self.intercept_

    def predict(self, networks: Network | Sequence[Network]) -> float | np.ndarray:
        """Predicted milliseconds per batch (a float for one network, an array for several)."""
        if isinstance(networks, Network):
            return self._predict_one(networks)
        return np.array([self._predict_one(n) for n in networks])

    def save(self, path: str | Path) -> None:
        """Writes the settings, device fingerprint, op table, factors and intercept as JSON (not the ``cache``)."""
        data = {"settings": {**self._settings(), "chain": self.chain, "ridge": self.ridge,
                             "merge": self.merge, "layout": self.layout}, "device": self.device_,
                "table": self.table_, "scale": self.scale_, "intercept": self.intercept_}
        Path(path).write_text(json.dumps(data, indent=1, sort_keys=True))

    @classmethod
    def load(cls, path: str | Path) -> LatencyTable:
        """A table written by :meth:`save`, ready to predict without measuring; a file from before the per-op-type
        factors is refused (build and fit it again)."""
        data = json.loads(Path(path).read_text())
        if "scale" not in data:
            raise SchemaError("a table saved before per-op-type factors (no 'scale' field); build and fit it again")
        table = cls(**data["settings"])
        table.table_, table.scale_, table.device_ = data["table"], data["scale"], data["device"]
        table.intercept_ = float(data["intercept"])
        return table
