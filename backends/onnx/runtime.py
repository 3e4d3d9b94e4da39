"""Running exported models in a real onnxruntime session, saying which provider really ran.

onnxruntime quietly runs a model on the CPU when the requested provider cannot start (it is not
installed, or onnxruntime-gpu finds no GPU) and only logs it. Here the provider really used is read
back with ``session.get_providers()``: a fallback is an error with ``strict=True`` and otherwise a
:class:`ProviderFallbackWarning`, recorded on the returned :class:`Session` (``fell_back``).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np
import onnx

from nasir.errors import MissingDependencyError, ModelFileError, ModelInputError, ModelLoadError, ProviderError
from nasir.latency import check_count

__all__ = ["session", "run", "check_input_shape", "provider_name", "Session", "ProviderError", "ProviderFallbackWarning",
           "ModelFileError", "ModelLoadError", "PROVIDERS", "ort_module"]

log = logging.getLogger(__name__)
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}
ModelLike = Union[onnx.ModelProto, bytes, str, os.PathLike]


class ProviderFallbackWarning(RuntimeWarning):
    """onnxruntime runs the model on another provider than the requested one."""


def ort_module() -> Any:
    """``import onnxruntime``, or a :class:`~nasir.errors.MissingDependencyError` naming the extra."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError(
            "running ONNX models needs onnxruntime: pip install 'nasir[onnx]' (CPU) or 'nasir[gpu]' (onnxruntime-gpu; never both)"
        ) from None
    return onnxruntime


_ort = ort_module  # the name nasir.backends.onnx.latency imports


@dataclass(frozen=True)
class Session:
    """An onnxruntime ``InferenceSession`` plus what it was asked for and what it really uses."""

    ort_session: Any
    requested: str
    provider: str
    threads: int

    @property
    def fell_back(self) -> bool:
        """Whether onnxruntime runs another provider than the requested one."""
        return self.provider != self.requested

    @property
    def input_names(self) -> list[str]:
        """The model's input names in order: the keys of a ``run`` feed."""
        return [i.name for i in self.ort_session.get_inputs()]


def provider_name(provider: str) -> str:
    """The onnxruntime provider name for a short name (``cpu``, ``cuda``, ``tensorrt``) or a full one."""
    name = PROVIDERS.get(provider.lower(), provider) if isinstance(provider, str) else provider
    known = ort_module().get_all_providers()
    if name not in known:
        raise ProviderError(f"unknown execution provider {provider!r}; use one of {sorted(PROVIDERS)} or an "
                            f"onnxruntime provider name ({', '.join(known[:6])}, ...)")
    return name


def _model_bytes(model: ModelLike) -> bytes:
    if isinstance(model, onnx.ModelProto):
        return model.SerializeToString()
    if isinstance(model, bytes):
        return model
    path = Path(model)
    if not path.is_file():
        raise ModelFileError(f"ONNX model file {str(path)!r} does not exist; export one with nasir.backends.onnx.export(...) "
                             "and onnx.save(model, path)")
    return path.read_bytes()


def session(model: ModelLike, *, provider: str = "cpu", threads: int = 1, strict: bool = True) -> Session:
    """A session on ``provider`` with ``threads`` intra-op threads (pinned; inter-op 1, sequential).

    Args:
        model: a ModelProto, its bytes, or a path to an ``.onnx`` file.
        provider: ``cpu``, ``cuda``, ``tensorrt`` or an onnxruntime provider name.
        threads: intra-op thread count (>= 1), recorded so timings say what they ran on.
        strict: raise :class:`ProviderError` when onnxruntime falls back (the default: a session
            is what latency is measured on, and a CPU time labelled CUDA is wrong); ``False`` warns
            with :class:`ProviderFallbackWarning` and records it in ``Session.provider``/``fell_back``.
    """
    ort = ort_module()
    threads = check_count("threads", threads)
    name = provider_name(provider)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    # TensorRT hands the nodes it cannot compile to CUDA, as onnxruntime's docs recommend; CPU is always last
    chain = list(dict.fromkeys([name, *(["CUDAExecutionProvider"] if name == "TensorrtExecutionProvider" else []), "CPUExecutionProvider"]))
    data = _model_bytes(model)
    with warnings.catch_warnings():  # ORT's own warning is replaced by ours, which names what ran
        warnings.filterwarnings("ignore", message=".*not in available provider names.*")
        try:
            sess = ort.InferenceSession(data, options, providers=chain)
        except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph/InvalidProtobuf types
            source = model if isinstance(model, (str, os.PathLike)) else "the given model"
            raise ModelLoadError(f"onnxruntime cannot create a session for {source} on {chain}: {err}") from None
    used = sess.get_providers()[0]
    result = Session(sess, name, used, threads)
    if result.fell_back:
        message = (f"onnxruntime runs {used}, not the requested {name} (available here: {ort.get_available_providers()}); "
                   "install 'nasir[gpu]' on a machine with a GPU, or ask for provider='cpu'")
        if strict:
            raise ProviderError(message)
        warnings.warn(message, ProviderFallbackWarning, stacklevel=2)
        log.warning(message)
    return result


def run(model: ModelLike | Session, x: np.ndarray | Sequence[np.ndarray], *, provider: str = "cpu", threads: int = 1,
        strict: bool = False) -> np.ndarray:
    """Runs the model on float32 batch(es) ``x`` (NCHW; one array per graph input) and returns its output.

    Outputs do not depend on the provider, so by default a fallback warns
    (:class:`ProviderFallbackWarning`, also logged) instead of failing; ``strict=True`` raises.
    To keep the record, build the session first (``s = session(model, provider=..., strict=False)``),
    pass it here and read ``s.provider`` / ``s.fell_back``.
    """
    sess = model if isinstance(model, Session) else session(model, provider=provider, threads=threads, strict=strict)
    arrays = [x] if isinstance(x, np.ndarray) else list(x)
    names = sess.input_names
    if len(arrays) != len(names):
        raise ModelInputError(f"the model takes {len(names)} input(s) {names}, got {len(arrays)} array(s)")
    feed = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in zip(names, arrays)}
    for spec, (name, array) in zip(sess.ort_session.get_inputs(), feed.items()):
        check_input_shape(name, spec.shape, array.shape)
    return sess.ort_session.run(None, feed)[0]


def check_input_shape(name: str, declared: Sequence[Any], given: Sequence[int]) -> None:
    """Raises :class:`~nasir.errors.ModelInputError` when an array does not fit a graph input's declared shape
    (a fixed size differs; named axes such as a dynamic batch take any size), instead of onnxruntime's message."""
    fits = len(declared) == len(given) and all(not isinstance(d, int) or d == g for d, g in zip(declared, given))
    if not fits:
        shown = tuple(d if isinstance(d, int) else str(d) for d in declared)
        raise ModelInputError(f"input {name!r} of the model has shape {shown} (names are free axes), got an array of shape "
                              f"{tuple(given)}")
