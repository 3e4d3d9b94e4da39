"""The ``"torch"`` latency runtime of :func:`nasir.latency.measure`: the network ``lower`` builds, timed in torch.

A GPU runtime where onnxruntime's CUDA provider is not installed, and a CPU one everywhere. The
module is lowered once (random weights from ``seed``), put in eval mode and run under
``torch.inference_mode`` on one fixed random batch that already lives on the device. Each of
``runs`` runs warms up again (``warmup`` calls: allocator, cuDNN/oneDNN kernel choice) and times
``repeats`` calls.

* ``device="cpu"``: each call is timed with ``perf_counter`` (the call returns when the result is
  ready); ``threads`` sizes torch's intra-op pool for the measurement and is restored afterwards.
* ``device="cuda"`` (or ``"cuda:i"``): each call is bracketed by two CUDA events on the current
  stream and synchronised once, on the end event; the time is the events' elapsed time, so host
  launch overhead is counted only where it delays the GPU. ``cuda_graph=True`` captures the
  forward pass once per run in a CUDA graph (after warm-up on a side stream, as torch requires)
  and times its replays: launch overhead drops out, which is what a deployed graph sees.

Asking for CUDA where torch sees no GPU raises :class:`~nasir.latency.DeviceUnavailableError`; it
never falls back to the CPU. The fingerprint records torch's version and the device (plus GPU name
and CUDA version on a GPU).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from nasir.frontends.torch.modules import checked_device, lower
from nasir.ir import Arch, Network, Shape
from nasir.latency import (
    LatencyResult,
    RuntimeOptionError,
    base_fingerprint,
    input_shapes_of,
    model_key,
    perf_lap,
    random_inputs,
    summarize,
    time_calls,
)

__all__ = ["model_key", "resolve", "runtime_fingerprint", "time_model"]

_GRAPH_WARMUP = 3  # side-stream calls before a CUDA-graph capture (lazy init must not be captured)


def resolve(device: str) -> torch.device:
    """The torch device for ``device`` (``cpu``, ``cuda``, ``cuda:i``); a GPU torch cannot see raises."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise RuntimeOptionError(f"torch runtime: {device!r} is not a device ({err}); use 'cpu', 'cuda' or 'cuda:<i>'") from None
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise RuntimeOptionError(f"torch runtime: device {device!r} is not timed here; use 'cpu', 'cuda' or 'cuda:<i>'")
    return torch.device("cuda", checked_device(device).index or 0)  # a GPU torch cannot see: DeviceUnavailableError


def runtime_fingerprint(threads: int, options: Mapping[str, Any]) -> dict:
    """Runtime, torch version, device (GPU name and CUDA version on a GPU), threads, CPU."""
    dev = resolve(options["device"])
    out = {**base_fingerprint("torch", threads), "torch": torch.__version__, "device": str(dev)}
    if dev.type == "cuda":
        out.update(gpu=torch.cuda.get_device_name(dev), cuda=torch.version.cuda)
    return out


@contextmanager
def _intra_op_threads(n: int) -> Iterator[None]:
    """torch's pool is process-wide: size it for the measurement only."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _event_lap(call: Callable[[], object]) -> float:
    """Milliseconds between CUDA events around ``call``, one synchronisation (on the end event)."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    call()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def _graph_call(module: nn.Module, xs: Sequence[torch.Tensor]) -> Callable[[], object]:
    """The forward pass captured in a CUDA graph (static inputs ``xs``); calling it replays the graph."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(_GRAPH_WARMUP):
            module(*xs)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        module(*xs)
    return graph.replay


def time_model(obj: Network | Arch, *, batch: int, threads: int, warmup: int, repeats: int, runs: int, seed: int,
               input_shapes: Shape | Sequence[Shape] | None, device: str, cuda_graph: bool) -> LatencyResult:
    """Times ``nasir.frontends.torch.lower(obj, seed=seed)`` on ``device`` (see the module docstring)."""
    dev = resolve(device)
    if cuda_graph and dev.type != "cuda":
        raise RuntimeOptionError(f"torch runtime: cuda_graph=True needs a CUDA device, not {device!r}")
    shapes = input_shapes_of(obj, input_shapes)
    module = lower(obj, seed=seed, input_shapes=None if isinstance(obj, Network) else shapes).eval().to(dev)
    xs = [torch.from_numpy(x).to(dev) for x in random_inputs(shapes, batch, seed)]
    lap = _event_lap if dev.type == "cuda" else perf_lap
    per_run = []
    with _intra_op_threads(threads), torch.inference_mode():
        for _ in range(runs):
            call = _graph_call(module, xs) if cuda_graph else (lambda: module(*xs))
            per_run.append(time_calls(call, warmup, repeats, lap))
    return summarize(per_run, batch=batch, warmup=warmup, fingerprint=runtime_fingerprint(threads, {"device": device}),
                     model=model_key(obj, input_shapes))
