"""The ``"tflite"`` latency runtime of :func:`nasir.latency.measure`: an edge-style CPU runtime.

The Keras model ``nasir.frontends.tensorflow.lower`` builds (NHWC, TensorFlow's native layout) is
exported as a SavedModel with a fixed batch and converted with ``tf.lite.TFLiteConverter``; the
TFLite interpreter runs it with ``num_threads=threads`` (XNNPACK, its default CPU delegate). In
TF 2.21 converting a Keras 3 model's concrete function keeps its weights as uninitialised resource
variables (outputs are NaN), so the SavedModel route is the one that works. ``quantize="int8"``
adds post-training full-integer quantisation (int8 weights and activations, float32 model
inputs/outputs) calibrated on :data:`CALIBRATION_IMAGES` real images of ``nasir.data.load_sample()``,
normalised as the network expects them (random inputs give activation ranges no image produces).

Each run builds a fresh interpreter from the same flatbuffer, warms it up and times ``invoke()``.

    >>> blob = convert(lower(network, seed=0))                 # doctest: +SKIP
    >>> logits = run(blob, images_nhwc)                        # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from nasir.data import load_sample
from nasir.errors import ModelInputError
from nasir.frontends.tensorflow.data import normalize
from nasir.frontends.tensorflow.models import ArchModel, NetworkModel, _nhwc, lower
from nasir.ir import Arch, Network, Shape
from nasir.latency import (
    LatencyResult,
    RuntimeOptionError,
    base_fingerprint,
    input_shapes_of,
    model_key,
    random_inputs,
    summarize,
    time_calls,
)

__all__ = ["CALIBRATION_IMAGES", "QUANTIZATIONS", "calibration_images", "convert", "interpreter", "model_key", "run",
           "runtime_fingerprint", "time_model"]

QUANTIZATIONS = (None, "int8")
CALIBRATION_IMAGES = 128


def calibration_images(model: ArchModel | NetworkModel, n: int = CALIBRATION_IMAGES) -> np.ndarray:
    """The first ``n`` training images of the shipped CIFAR-10 sample, normalised, NHWC float32."""
    data = load_sample()
    if model.layout != "NHWC" or tuple(model.input_shapes[0]) != data.input_shape:
        raise RuntimeOptionError(f"int8 calibration uses the shipped CIFAR-10 sample {data.input_shape} (NHWC models); this model "
                                 f"takes {list(model.input_shapes)} in {model.layout}: pass calibration images to convert()")
    return normalize(data.x_train[:n], data.mean, data.std)


def convert(model: ArchModel | NetworkModel, *, batch: int = 1, quantize: str | None = None,
            calibration: np.ndarray | None = None) -> bytes:
    """A TFLite flatbuffer of a lowered model, taking ``batch`` inputs (float32 in and out).

    Args:
        model: from ``nasir.frontends.tensorflow.lower`` (inference mode: BN uses its running statistics).
        batch: the fixed batch size of the converted model.
        quantize: ``None`` (float32) or ``"int8"`` (post-training full-integer quantisation).
        calibration: int8 only: real inputs in the model's layout, normalised; default
            :func:`calibration_images`. Used in chunks of ``batch``.
    """
    if quantize not in QUANTIZATIONS:
        raise RuntimeOptionError(f"tflite runtime: quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    images = None
    if quantize == "int8":
        if len(model.input_shapes) != 1:
            raise RuntimeOptionError(f"int8 conversion takes one-input models, this one has {len(model.input_shapes)}")
        images = calibration_images(model) if calibration is None else np.asarray(calibration, dtype=np.float32)
        if len(images) < batch:
            raise RuntimeOptionError(f"int8 calibration needs at least one batch of {batch} inputs, got {len(images)}")
    external = [_nhwc(s) if model.layout == "NHWC" else tuple(s) for s in model.input_shapes]
    specs = [tf.TensorSpec((batch, *s), tf.float32) for s in external]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", input_signature=[specs if len(specs) > 1 else specs[0]], verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if images is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: _chunks(images, batch)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()


def _chunks(images: np.ndarray, batch: int) -> Iterator[list[np.ndarray]]:
    for i in range(0, len(images) - batch + 1, batch):
        yield [images[i : i + batch]]


def interpreter(blob: bytes, threads: int = 1) -> tf.lite.Interpreter:
    """An allocated interpreter on ``threads`` CPU threads (XNNPACK delegate, TFLite's default)."""
    with warnings.catch_warnings():  # TF 2.21 still ships tf.lite.Interpreter; it warns on every construction
        warnings.filterwarnings("ignore", message=r"(?s).*tf\.lite\.Interpreter is deprecated")
        interp = tf.lite.Interpreter(model_content=blob, num_threads=threads)
    interp.allocate_tensors()
    return interp


def _feed(interp: tf.lite.Interpreter, xs: Sequence[np.ndarray]) -> None:
    details = interp.get_input_details()
    if len(details) != len(xs):
        raise ModelInputError(f"the TFLite model takes {len(details)} input(s), got {len(xs)} array(s)")
    for d, x in zip(details, xs):
        interp.set_tensor(d["index"], np.ascontiguousarray(x, dtype=np.float32))


def run(blob: bytes, *xs: np.ndarray, threads: int = 1) -> np.ndarray:
    """Runs a converted model on float32 batches ``xs`` (its layout, its batch size) and returns its output."""
    interp = interpreter(blob, threads)
    _feed(interp, xs)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


def runtime_fingerprint(threads: int, options: Mapping[str, Any]) -> dict:
    """Runtime, TensorFlow (TFLite) version, delegate, threads, CPU; the model's quantisation is a setting."""
    return {**base_fingerprint("tflite", threads), "tflite": tf.__version__, "delegate": "xnnpack", "device": "cpu"}


def time_model(obj: Network | Arch, *, batch: int, threads: int, warmup: int, repeats: int, runs: int, seed: int,
               input_shapes: Shape | Sequence[Shape] | None, quantize: str | None) -> LatencyResult:
    """Times ``lower(obj, seed=seed)`` converted to TFLite, ``runs`` fresh interpreters, one random batch."""
    shapes = input_shapes_of(obj, input_shapes)
    model = lower(obj, seed=seed, input_shapes=None if isinstance(obj, Network) else shapes)
    blob = convert(model, batch=batch, quantize=quantize)
    xs = [x.transpose(0, 2, 3, 1) if x.ndim == 4 else x for x in random_inputs(shapes, batch, seed)]
    per_run = []
    for _ in range(runs):
        interp = interpreter(blob, threads)
        _feed(interp, xs)
        per_run.append(time_calls(interp.invoke, warmup, repeats))
    return summarize(per_run, batch=batch, warmup=warmup, fingerprint=runtime_fingerprint(threads, {}),
                     model=model_key(obj, input_shapes))
