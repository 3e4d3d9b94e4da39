"""What ``nasir search --objective`` evaluates: proxies, IR costs, CPU latency and NB201 ground truth."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import typer

from nasir.cli._app import TRUTH_ACC, _need, _space
from nasir.ir import Arch


def check_proxies(names: Sequence[str]) -> None:
    """Fails before any work on a proxy name that is unknown or has no PyTorch implementation."""
    from nasir.proxies import PROXIES

    for name in names:
        PROXIES.get(name)  # unknown names raise with close matches
    _need("torch", "torch", "scoring zero-cost proxies")
    from nasir.frontends.torch.proxies import UNSUPPORTED

    for name in names:
        if name in UNSUPPORTED:
            raise typer.BadParameter(f"proxy {name!r} has no PyTorch implementation: {UNSUPPORTED[name]}")


class NetworkProxyScores:
    """Scores networks with zero-cost proxies on the shipped CIFAR-10 sample (one seeded batch per size)."""

    def __init__(self, names: Sequence[str], seed: int = 0, threads: int = 1) -> None:
        check_proxies(names)
        torch = _need("torch", "torch", "scoring zero-cost proxies")
        torch.set_num_threads(threads)  # more threads than free cores makes torch spin and run many times slower
        from nasir.data import load_sample

        self.names, self.seed, self.data = list(names), seed, load_sample()

    def __call__(self, network: Any) -> dict[str, float]:
        """``{proxy: score}``, higher is better; a degenerate network scores -inf (no warning printed)."""
        from nasir.frontends.torch.proxies import ProxyWarning, score_network

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)
            return score_network(network, self.names, self.data, seed=self.seed, catch=True)


class SearchObjective:
    """What ``nasir search --objective`` measures: proxies, IR costs, CPU latency and NB201 ground truth.

    Terms: ``tabular`` (NB201 validation accuracy, test accuracy reported), a proxy name
    (``proxy/<name>``, maximised), ``params`` / ``flops`` (``params_m`` / ``flops_m`` from the IR,
    minimised), ``latency`` (``latency_ms`` on onnxruntime CPU, one thread, minimised). The first
    term is optimised; the others, and the ground truth when ``truth`` is set, are recorded for
    reports and Pareto fronts. Picklable for the process-pool executor: only settings travel,
    the benchmark, data and frameworks are loaded in the worker on first use.
    """

    def __init__(self, space: str, terms: Sequence[str], *, seed: int = 0, truth: bool = True, threads: int = 1) -> None:
        self.space_name, self.terms, self.seed, self.threads = space, list(terms), seed, threads
        self.truth = truth or "tabular" in self.terms
        proxies = [t for t in self.terms if t not in ("tabular", "params", "flops", "latency")]
        if len(set(self.terms)) != len(self.terms):
            raise typer.BadParameter(f"objective terms repeat: {','.join(self.terms)}", param_hint="--objective")
        if self.truth and space != "nb201":
            raise typer.BadParameter(f"ground truth ships for nb201 only, not {space!r}; use a proxy, params, flops or latency",
                                     param_hint="--objective")
        from nasir.proxies import PROXIES

        unknown = [t for t in proxies if t not in PROXIES]
        if unknown:
            raise typer.BadParameter(f"unknown term {unknown[0]!r}: use tabular, params, flops, latency or a proxy "
                                     f"({', '.join(PROXIES)})", param_hint="--objective")
        self.proxies = proxies
        self.directions = self._directions()
        self.primary = next(iter(self._metrics(self.terms[0])))
        self.name = f"cli:{','.join(self.terms)}" + (":truth" if self.truth and "tabular" not in self.terms else "")
        self._state: dict[str, Any] = {}

    @staticmethod
    def _metrics(term: str) -> dict[str, str]:
        fixed = {"tabular": {"cifar10-valid/valid_acc": "maximize", TRUTH_ACC: "maximize"}, "params": {"params_m": "minimize"},
                 "flops": {"flops_m": "minimize"}, "latency": {"latency_ms": "minimize"}}
        return fixed.get(term, {f"proxy/{term}": "maximize"})

    def _directions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for term in self.terms + (["tabular"] if self.truth else []):
            out.update(self._metrics(term))
        return out

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_state": {}}

    def _load(self) -> dict[str, Any]:
        """The expensive parts, built on first use in whichever process evaluates."""
        if not self._state:
            self._state["space"] = _space(self.space_name)
            if self.truth:
                from nasir.objectives import TabularObjective
                from nasir.spaces.nb201_bench import NB201Benchmark

                self._state["truth"] = TabularObjective(NB201Benchmark.default(), self._state["space"])
            if self.proxies:
                self._state["proxies"] = NetworkProxyScores(self.proxies, self.seed, self.threads)
            if "latency" in self.terms:
                self._state["measure"] = _need("nasir.backends.onnx", "onnx", "measuring latency").measure
        return self._state

    def evaluate(self, arch: Arch) -> dict[str, float]:
        state = self._load()
        network = state["space"].network(arch)
        metrics = state["truth"].evaluate(arch) if self.truth else {}
        if self.proxies:
            metrics.update({f"proxy/{k}": v for k, v in state["proxies"](network).items()})
        if "params" in self.terms:
            metrics["params_m"] = network.count_params() / 1e6
        if "flops" in self.terms:
            metrics["flops_m"] = network.count_flops() / 1e6
        if "latency" in self.terms:
            metrics["latency_ms"] = state["measure"](network, threads=1, warmup=3, repeats=10, runs=1).median_ms
        return metrics
