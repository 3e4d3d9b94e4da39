"""What ``nasir search --objective`` evaluates: proxies, IR costs, CPU latency and NB201 ground truth."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import typer

from nasir.cli._app import TRUTH_ACC, _need, _space
from nasir.ir import Arch


def check_proxies(names: Sequence[str], framework: str = "torch") -> Any:
    """The framework's frontend, after failing on a proxy name that is unknown or that it does not implement."""
    from nasir.frameworks import get_frontend
    from nasir.proxies import PROXIES

    for name in names:
        PROXIES.get(name)  # unknown names raise with close matches
    frontend = get_frontend(framework)  # an unknown or missing framework raises, naming the extra
    unsupported = frontend.unsupported_proxies()
    for name in names:
        if name in unsupported:
            raise typer.BadParameter(f"proxy {name!r} has no {framework} implementation: {unsupported[name]}")
    return frontend


SAMPLE_SHAPE = (3, 32, 32)  # the shipped CIFAR-10 sample's images (C, H, W)


def space_input_shape(space: Any) -> tuple[int, ...]:
    """The (C, H, W) images a space's networks take (from one sampled network: the IR knows its shapes)."""
    import numpy as np

    return tuple(space.network(space.sample(np.random.default_rng(0))).input_shape)


def check_images_fit(names: Sequence[str], input_shape: tuple[int, ...], space_name: str, option: str = "--proxy") -> None:
    """Refuses proxies that read images for networks that take other images than the shipped sample's: every
    evaluation would fail on the mismatch. Proxies that read none run on any input shape."""
    from nasir.proxies import PROXIES

    readers = [n for n in names if PROXIES.get(n).needs & {"data", "labels"}]
    if readers and tuple(input_shape) != SAMPLE_SHAPE:
        free = ", ".join(n for n in PROXIES.names() if not PROXIES.get(n).needs & {"data", "labels"})
        raise typer.BadParameter(f"{', '.join(readers)} read(s) images, and the shipped CIFAR-10 sample holds {SAMPLE_SHAPE} "
                                 f"images but space {space_name!r} takes {tuple(input_shape)}; use proxies that read none "
                                 f"({free}), or score from Python with your own nasir.data.ImageData", param_hint=option)


def check_proxy_options(options: dict[str, dict[str, Any]], framework: str = "torch") -> None:
    """Refuses an option a proxy's implementation does not take, or an unknown GenNAS task, before the search: every
    trial would otherwise fail on it, stored under an objective named after the bad option."""
    from nasir.frameworks import get_frontend

    from nasir.errors import ProxyOptionError

    implementations = get_frontend(framework).proxy_implementations
    for proxy, given in options.items():
        try:
            implementations.get(proxy).check_options(given)
        except ProxyOptionError as err:
            raise typer.BadParameter(str(err), param_hint="--objective") from None
        if proxy == "gennas" and "task" in given:
            from nasir.gennas_signals import TASKS

            if given["task"] not in TASKS:
                raise typer.BadParameter(f"unknown GenNAS task {given['task']!r} (known: {', '.join(sorted(TASKS))})",
                                         param_hint="--objective")


class NetworkProxyScores:
    """Scores networks with zero-cost proxies in one framework on the shipped CIFAR-10 sample (one seeded batch per size).

    ``options``: ``{proxy: {option: value}}`` overriding a proxy's reference settings (e.g. GenNAS's ``task``).
    ``input_shape``: the images the networks take; other than the sample's, only proxies that read no images are
    accepted, and they get no data (they build their own input of the network's shape).
    """

    def __init__(self, names: Sequence[str], seed: int = 0, threads: int = 1, framework: str = "torch",
                 options: dict[str, dict[str, Any]] | None = None, input_shape: tuple[int, ...] = SAMPLE_SHAPE,
                 space_name: str = "nb201") -> None:
        check_images_fit(names, input_shape, space_name)
        self.frontend = check_proxies(names, framework)
        self.frontend.set_threads(threads)
        from nasir.data import load_sample

        data = load_sample() if tuple(input_shape) == SAMPLE_SHAPE else None
        self.names, self.seed, self.data, self.options = list(names), seed, data, options or {}

    def __call__(self, network: Any) -> dict[str, float]:
        """``{proxy: score}``, higher is better; a degenerate network scores -inf (no warning printed)."""
        from nasir.proxy_math import ProxyWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)
            scores = self.frontend.score_many([network], self.names, self.data, seed=self.seed, options=self.options)
        return {name: float(scores[name][0]) for name in self.names}


class SearchObjective:
    """What ``nasir search --objective`` measures: proxies, IR costs, CPU latency and NB201 ground truth.

    Terms: ``tabular`` (NB201 validation accuracy, test accuracy reported), a proxy name
    (``proxy/<name>``, maximised; ``name:option=value[:option=value]`` overrides its reference settings,
    e.g. ``gennas:task=nb101``, and the options become part of the objective's stored name),
    ``params`` / ``flops`` (``params_m`` / ``flops_m`` from the IR, minimised), ``latency``
    (``latency_ms`` on onnxruntime CPU, one thread, minimised). The first term is optimised; the
    others, and the ground truth when ``truth`` is set, are recorded for reports and Pareto fronts. Proxies are computed in ``framework``. Picklable for the process-pool
    executor: only settings travel, the benchmark, data and frameworks are loaded in the worker on
    first use.
    """

    def __init__(self, space: str, terms: Sequence[str], *, seed: int = 0, truth: bool = True, threads: int = 1,
                 framework: str = "torch") -> None:
        self.space_name, self.terms, self.seed, self.threads, self.framework = space, list(terms), seed, threads, framework
        self.truth = truth or "tabular" in self.terms
        self.options = {t.split(":")[0]: _proxy_options(t) for t in self.terms if t not in ("tabular", "params", "flops", "latency")}
        proxies = list(self.options)
        if len({t.split(":")[0] for t in self.terms}) != len(self.terms):
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
        self.input_shape = space_input_shape(_space(space)) if proxies else SAMPLE_SHAPE
        check_images_fit(proxies, self.input_shape, space, "--objective")
        self.directions = self._directions()
        self.primary = next(iter(self._metrics(self.terms[0])))
        self.name = (f"cli:{','.join(self.terms)}" + (":truth" if self.truth and "tabular" not in self.terms else "")
                     + (f":{framework}" if self.proxies and framework != "torch" else ""))
        self._state: dict[str, Any] = {}

    @property
    def optimised(self) -> dict[str, str]:
        """``{metric: direction}``: the metric each term stands for (what a Pareto search optimises)."""
        return dict(next(iter(self._metrics(t).items())) for t in self.terms)

    @staticmethod
    def _metrics(term: str) -> dict[str, str]:
        fixed = {"tabular": {"cifar10-valid/valid_acc": "maximize", TRUTH_ACC: "maximize"}, "params": {"params_m": "minimize"},
                 "flops": {"flops_m": "minimize"}, "latency": {"latency_ms": "minimize"}}
        return fixed.get(term, {f"proxy/{term.split(':')[0]}": "maximize"})

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
                options = {name: opts for name, opts in self.options.items() if opts}
                self._state["proxies"] = NetworkProxyScores(self.proxies, self.seed, self.threads, self.framework, options,
                                                            self.input_shape, self.space_name)
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


def _proxy_options(term: str) -> dict[str, Any]:
    """``"gennas:task=nb101:iterations=50"`` -> ``{"task": "nb101", "iterations": 50}`` (numbers parsed, the rest text)."""
    options: dict[str, Any] = {}
    for item in term.split(":")[1:]:
        key, sep, text = item.partition("=")
        if not sep or not key or not text:
            raise typer.BadParameter(f"proxy options are name:option=value[:option=value], got {term!r}", param_hint="--objective")
        options[key] = _number(text)
    return options


def _number(text: str) -> int | float | str:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
