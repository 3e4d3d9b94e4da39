"""Int8 static quantisation of exported models with ``onnxruntime.quantization`` (an edge-style runtime).

Static quantisation fixes every activation's scale and zero point from calibration data, so the
model runs int8 kernels end to end on a CPU (what mobile/edge deployments do), unlike dynamic
quantisation which quantises activations at run time. Calibrate on real images, normalised the way
the network expects them: random inputs give activation ranges no real image produces.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from nasir.backends.onnx.runtime import check_input_shape, ort_module
from nasir.errors import ExportOptionError, ModelInputError
from nasir.latency import check_count

__all__ = ["quantize_int8", "DEFAULT_OP_TYPES"]

# Convs and linear layers only: on a 2-core AMD EPYC (VNNI) at batch 1, quantising NB201's Add/Mul/
# AveragePool too made networks ~1.8x slower than float (requantisation between every small op);
# convs only: median 0.63x float over 20 NB201 networks (benchmarks/latency_int8.py). Override with op_types.
DEFAULT_OP_TYPES = ("Conv", "Gemm", "MatMul")


def _reader(name: str, batches: Iterable[np.ndarray]) -> Any:
    from onnxruntime.quantization import CalibrationDataReader

    class _Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._it: Iterator[np.ndarray] = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self._it, None)
            return None if batch is None else {name: np.ascontiguousarray(batch, dtype=np.float32)}

    return _Batches()


def quantize_int8(model: onnx.ModelProto, calibration: np.ndarray, *, batch: int = 32, per_channel: bool = True,
                  method: str = "minmax", op_types: Sequence[str] = DEFAULT_OP_TYPES) -> onnx.ModelProto:
    """A statically quantised copy of ``model``: int8 weights (per output channel), uint8 activations, QDQ format.

    Args:
        model: a float32 model with one input (e.g. from :func:`nasir.backends.onnx.export`).
        calibration: real inputs, float32 NCHW, already normalised (a few hundred images suffice).
        batch: calibration batch size.
        per_channel: per-output-channel weight scales (keeps accuracy for convs with BN folded in).
        method: ``minmax``, ``entropy`` or ``percentile`` (onnxruntime's calibration methods).
        op_types: ONNX op types to quantise; the others stay float between dequantise/quantise pairs.
    """
    ort_module()
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy, "percentile": CalibrationMethod.Percentile}
    if method not in methods:
        raise ExportOptionError(f"unknown calibration method {method!r} (known: {sorted(methods)})")
    batch = check_count("batch", batch)
    if len(model.graph.input) != 1:
        raise ModelInputError(f"quantize_int8 supports one graph input, the model has {len(model.graph.input)}")
    calibration = np.asarray(calibration, dtype=np.float32)
    if calibration.ndim < 2 or len(calibration) == 0:
        raise ModelInputError(f"calibration must be a non-empty float32 batch (N, ...), got shape {calibration.shape}")
    graph_input = model.graph.input[0]
    declared = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in graph_input.type.tensor_type.shape.dim]
    check_input_shape(graph_input.name, ["batch", *declared[1:]], calibration.shape)  # e.g. NHWC images for an NCHW model
    batches = [calibration[i : i + batch] for i in range(0, len(calibration), batch)]
    with tempfile.TemporaryDirectory() as tmp:
        src, pre, dst = Path(tmp, "fp32.onnx"), Path(tmp, "pre.onnx"), Path(tmp, "int8.onnx")
        onnx.save(model, src)
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)  # BN folding, shape inference
        quantize_static(str(pre), str(dst), _reader(model.graph.input[0].name, batches), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=per_channel,
                        calibrate_method=methods[method], op_types_to_quantize=list(op_types))
        quantised = onnx.load(dst)
    quantised.ir_version = model.ir_version if quantised.ir_version > model.ir_version else quantised.ir_version
    note = f"static int8 QDQ of {'/'.join(op_types)}, {method}, per_channel={per_channel}, {len(calibration)} calibration inputs"
    # the float model's latency-cache key would serve its timings for this model: the quantised one is keyed by its bytes
    props = {p.key: p.value for p in model.metadata_props if p.key != "model_key"}
    onnx.helper.set_model_props(quantised, {**props, "quantization": note})
    return quantised
