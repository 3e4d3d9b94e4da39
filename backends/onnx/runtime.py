"""Running exported models in a real onnxruntime session, saying which provider really ran."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import onnx

from nasir.errors import MissingDependencyError, NasirError

__all__ = ["session", "run", "provider_name", "ProviderError", "PROVIDERS"]

log = logging.getLogger(__name__)
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider"}


class ProviderError(NasirError, RuntimeError):
    """The requested execution provider is not the one onnxruntime runs."""


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("running ONNX models needs onnxruntime: pip install 'nasir[onnx]' (or 'nasir[gpu]' for CUDA)") from None
    return onnxruntime


@dataclass(frozen=True)
class Session:
    """An onnxruntime session plus the provider it really uses."""

    ort_session: object
    provider: str
    threads: int


def provider_name(provider: str) -> str:
    """The onnxruntime provider name for a short name (``cpu``, ``cuda``, ``tensorrt``)."""
    return PROVIDERS.get(provider, provider)


def session(model: onnx.ModelProto | bytes, *, provider: str = "cpu", threads: int = 1) -> Session:
    """Creates a session on ``provider`` (``cpu``, ``cuda``, ``tensorrt`` or an ORT provider name).

    onnxruntime silently falls back to the CPU when a GPU provider cannot start; here that is an
    error (:class:`ProviderError`), never a silent degradation.
    """
    ort = _ort()
    name = provider_name(provider)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    data = model if isinstance(model, bytes) else model.SerializeToString()
    sess = ort.InferenceSession(data, options, providers=[name] + (["CPUExecutionProvider"] if name != "CPUExecutionProvider" else []))
    used = sess.get_providers()[0]
    if used != name:
        raise ProviderError(f"onnxruntime runs {used}, not the requested {name} (available: {ort.get_available_providers()})")
    return Session(sess, used, threads)


def run(model: onnx.ModelProto | bytes | Session, x: np.ndarray, **session_options) -> np.ndarray:
    """Runs the model on a float32 batch ``x`` (NCHW) and returns its first output."""
    sess = model if isinstance(model, Session) else session(model, **session_options)
    inputs = sess.ort_session.get_inputs()
    return sess.ort_session.run(None, {inputs[0].name: np.ascontiguousarray(x, dtype=np.float32)})[0]
