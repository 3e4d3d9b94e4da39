"""Keras 3 layers (TensorFlow backend, NHWC) that compute exactly what the PyTorch frontend computes.

Each layer that holds weights exposes :meth:`NasirLayer.neutral_variables`: neutral role
(``weight``, ``conv.weight``, ``bn.running_mean``...) -> ``(variable, layout)``, where ``layout``
says how the Keras array maps to the neutral one (``"conv"``: HWIO <-> OIHW, ``"linear"``:
(in, out) <-> (out, in), ``"same"``: unchanged).

Faithfulness notes (why the Keras built-ins are not used everywhere):

* PyTorch pads symmetrically; TF's ``'SAME'`` puts the extra row/column at the bottom/right for
  stride 2, so padding is explicit (``tf.pad`` + ``'VALID'``) unless ``'SAME'`` is provably equal.
* ``keras.layers.BatchNormalization`` updates the moving variance with the *biased* batch
  variance and ignores ``training`` when frozen; PyTorch uses the unbiased variance (Bessel's
  correction) for the running estimate. :class:`BatchNorm` follows PyTorch.
* Average pooling with ``count_include_pad=False`` divides by the number of real pixels per
  window (NB201's ``avg_pool_3x3``); max pooling pads with ``-inf`` so padding never wins.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from nasir.ir import padding_of
from nasir.rng import Seed, as_rng

__all__ = [
    "NasirLayer", "BatchNorm", "Conv", "Linear", "MaxPool", "AvgPool", "ReLUConvBN", "ConvBNReLU",
    "ResNetBasicBlock", "Taps", "init_rng", "layer_dtype", "relu", "same_padding_equivalent", "tap",
]

_RNG: contextvars.ContextVar[np.random.Generator | None] = contextvars.ContextVar("nasir_tf_init_rng", default=None)
_DTYPE: contextvars.ContextVar[str | None] = contextvars.ContextVar("nasir_tf_layer_dtype", default=None)


@contextlib.contextmanager
def init_rng(seed: Seed) -> Iterator[np.random.Generator]:
    """Makes layers built inside the block draw their initial values from one numpy stream."""
    rng = as_rng(seed)
    token = _RNG.set(rng)
    try:
        yield rng
    finally:
        _RNG.reset(token)


@contextlib.contextmanager
def layer_dtype(dtype: str | None) -> Iterator[None]:
    """Makes layers built inside the block hold and compute in ``dtype`` (synflow needs float64)."""
    token = _DTYPE.set(dtype)
    try:
        yield
    finally:
        _DTYPE.reset(token)


@dataclass(frozen=True)
class Taps:
    """Callbacks a forward pass under :func:`tap` calls (the TF stand-in for PyTorch forward hooks).

    ``relu(x)``: with the input of every ReLU (NASWOT's activation codes).
    ``output(layer, y)``: with the output of every :class:`Conv` and :class:`Linear` call (fisher's
    activations; under a ``GradientTape`` their gradients are ``tape.gradient(loss, y)``).
    """

    relu: Callable[[tf.Tensor], None] | None = None
    output: Callable[[NasirLayer, tf.Tensor], None] | None = None


_TAPS: contextvars.ContextVar[Taps] = contextvars.ContextVar("nasir_tf_taps", default=Taps())


@contextlib.contextmanager
def tap(*, relu: Callable[[tf.Tensor], None] | None = None,
        output: Callable[[NasirLayer, tf.Tensor], None] | None = None) -> Iterator[None]:
    """Calls ``relu``/``output`` from the forward passes run inside the block (see :class:`Taps`)."""
    token = _TAPS.set(Taps(relu, output))
    try:
        yield
    finally:
        _TAPS.reset(token)


def relu(x: tf.Tensor) -> tf.Tensor:
    """``tf.nn.relu`` that reports its input under :func:`tap`; every ReLU of the frontend goes
    through it, so the reported set is exactly the PyTorch frontend's ``nn.ReLU`` modules."""
    callback = _TAPS.get().relu
    if callback is not None:
        callback(x)
    return tf.nn.relu(x)


def _reported(layer: NasirLayer, y: tf.Tensor) -> tf.Tensor:
    callback = _TAPS.get().output
    if callback is not None:
        callback(layer, y)
    return y


def _uniform(bound: float):
    """Initializer drawing U(-bound, bound) from the current init stream (PyTorch's default init)."""

    def init(shape: Sequence[int], dtype: Any = None) -> np.ndarray:
        rng = _RNG.get() or np.random.default_rng()
        return rng.uniform(-bound, bound, size=tuple(shape)).astype(np.float32)

    return init


def same_padding_equivalent(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> bool:
    """Whether TF ``'SAME'`` pads exactly ``padding`` on both sides and gives PyTorch's output size."""
    extent = dilation * (kernel - 1) + 1
    torch_out = (size + 2 * padding - extent) // stride + 1
    tf_out = -(-size // stride)
    total = max((tf_out - 1) * stride + extent - size, 0)
    return tf_out == torch_out and total == 2 * padding


def _tf_padding(hw: Sequence[int], kernel: int, stride: int, padding: int, dilation: int = 1) -> str | None:
    """``'VALID'``/``'SAME'`` when one of them equals PyTorch's symmetric padding, else None."""
    if padding == 0:
        return "VALID"
    if all(same_padding_equivalent(s, kernel, stride, padding, dilation) for s in hw):
        return "SAME"
    return None


def _pad(x: tf.Tensor, padding: int, value: float = 0.0) -> tf.Tensor:
    return tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]], constant_values=value)


class NasirLayer(keras.layers.Layer):
    """Base of the frontend's layers: variables are created at construction (shapes are known)."""

    takes_training = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", _DTYPE.get())
        super().__init__(**kwargs)

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        """Neutral role -> (variable, layout); empty for weight-free layers."""
        return {}

    def _prefixed(self, prefix: str, layer: NasirLayer | None) -> dict[str, tuple[keras.Variable, str]]:
        if layer is None:
            return {}
        return {f"{prefix}.{role}": v for role, v in layer.neutral_variables().items()}


class BatchNorm(NasirLayer):
    """Batch normalisation with PyTorch semantics over the last (channel) axis.

    ``momentum`` is stored in Keras' convention (weight of the *old* statistic, ``1 - m`` for the
    IR's PyTorch ``m``). Training mode normalises with the biased batch variance and folds the
    unbiased one into ``moving_variance``, like ``torch.nn.BatchNorm2d``; batch statistics are
    accumulated in float64 (as accurate as PyTorch's float32 kernels). ``enabled = False``
    turns the layer into the identity (synflow's BN-free copy; PyTorch swaps in ``nn.Identity``).
    """

    takes_training = True

    def __init__(self, channels: int, *, eps: float, momentum: float, affine: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels, self.epsilon, self.affine = channels, float(eps), affine
        self.torch_momentum = float(momentum)
        self.momentum = 1.0 - float(momentum)
        if affine:
            self.gamma = self.add_weight(shape=(channels,), initializer="ones", name="gamma")
            self.beta = self.add_weight(shape=(channels,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(shape=(channels,), initializer="zeros", trainable=False, name="moving_mean")
        self.moving_variance = self.add_weight(shape=(channels,), initializer="ones", trainable=False, name="moving_variance")
        self.enabled = True
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if not self.enabled:
            return x
        gamma, beta = (self.gamma, self.beta) if self.affine else (None, None)
        if not training:
            return tf.nn.batch_normalization(x, self.moving_mean, self.moving_variance, beta, gamma, self.epsilon)
        axes = list(range(len(x.shape) - 1))
        # batch statistics accumulate in float64: TF's float32 reduce_mean over N*H*W values drifts by
        # ~1e-6, which BN multiplies by mean/std (NB201 gradients were 1e-2 off torch's); the centred
        # input is normalised, not tf.nn.batch_normalization's x * s + (b - mean * s)
        wide = tf.cast(x, tf.float64)
        mean = tf.reduce_mean(wide, axes)
        var = tf.cast(tf.reduce_mean(tf.square(wide - mean), axes), x.dtype)
        mean = tf.cast(mean, x.dtype)
        centered = x - mean
        count = tf.cast(tf.reduce_prod(tf.gather(tf.shape(x), axes)), x.dtype)
        m = tf.constant(self.torch_momentum, x.dtype)
        unbiased = var * count / tf.maximum(count - 1.0, 1.0)
        self.moving_mean.assign(self.moving_mean * (1.0 - m) + tf.stop_gradient(mean) * m)
        self.moving_variance.assign(self.moving_variance * (1.0 - m) + tf.stop_gradient(unbiased) * m)
        scale = tf.math.rsqrt(var + self.epsilon)
        y = centered * (scale * gamma if gamma is not None else scale)
        return y + beta if beta is not None else y

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        out = {"weight": (self.gamma, "same"), "bias": (self.beta, "same")} if self.affine else {}
        out.update({"running_mean": (self.moving_mean, "same"), "running_var": (self.moving_variance, "same")})
        return out


class Conv(NasirLayer):
    """2-D convolution with PyTorch's symmetric zero padding; kernel stored HWIO.

    Depthwise convolutions (``groups == cin``) run as one ``tf.nn.depthwise_conv2d`` (the HWIO
    kernel ``(k, k, 1, cout)`` is the depthwise filter ``(k, k, cin, cout // cin)`` reshaped), unless
    they are both strided and dilated, which that op refuses; other groupings run one conv per group.
    """

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, *, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, groups: int = 1, bias: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.depthwise = (kernel, kernel, cin, cout // cin) if groups == cin > 1 and (stride == 1 or dilation == 1) else None
        self.tf_padding = _tf_padding(in_hw, kernel, stride, padding, dilation)
        bound = 1.0 / math.sqrt(cin // groups * kernel * kernel)
        self.kernel = self.add_weight(shape=(kernel, kernel, cin // groups, cout), initializer=_uniform(bound), name="kernel")
        self.bias = self.add_weight(shape=(cout,), initializer=_uniform(bound), name="bias") if bias else None
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        padding = self.tf_padding or "VALID"
        if self.tf_padding is None:
            x = _pad(x, self.padding)
        if self.groups == 1:
            y = tf.nn.conv2d(x, self.kernel, self.stride, padding, dilations=self.dilation)
        elif self.depthwise is not None:
            y = tf.nn.depthwise_conv2d(x, tf.reshape(self.kernel, self.depthwise), [1, self.stride, self.stride, 1], padding,
                                       dilations=[self.dilation, self.dilation])
        else:  # grouped: one conv per group (portable to every TF CPU kernel)
            xs = tf.split(x, self.groups, axis=-1)
            ks = tf.split(self.kernel, self.groups, axis=-1)
            y = tf.concat([tf.nn.conv2d(a, k, self.stride, padding, dilations=self.dilation) for a, k in zip(xs, ks)], -1)
        return _reported(self, y + self.bias if self.bias is not None else y)

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        out = {"weight": (self.kernel, "conv")}
        if self.bias is not None:
            out["bias"] = (self.bias, "same")
        return out


class Linear(NasirLayer):
    """``y = x W + b`` with ``W`` stored (in, out); PyTorch's default init."""

    def __init__(self, fin: int, fout: int, *, bias: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        bound = 1.0 / math.sqrt(fin)
        self.kernel = self.add_weight(shape=(fin, fout), initializer=_uniform(bound), name="kernel")
        self.bias = self.add_weight(shape=(fout,), initializer=_uniform(bound), name="bias") if bias else None
        self.built = True

    def call(self, x: tf.Tensor) -> tf.Tensor:
        y = tf.matmul(x, self.kernel)
        return _reported(self, y + self.bias if self.bias is not None else y)

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        out = {"weight": (self.kernel, "linear")}
        if self.bias is not None:
            out["bias"] = (self.bias, "same")
        return out


class MaxPool(NasirLayer):
    """Max pooling; explicit padding uses ``-inf`` so a padded value never wins (PyTorch)."""

    def __init__(self, in_hw: Sequence[int], *, kernel: int, stride: int, padding: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_kernel, self.stride, self.padding = kernel, stride, padding
        self.tf_padding = _tf_padding(in_hw, kernel, stride, padding)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        if self.tf_padding is None:
            x = _pad(x, self.padding, float("-inf"))
        return tf.nn.max_pool2d(x, self.pool_kernel, self.stride, self.tf_padding or "VALID")


class AvgPool(NasirLayer):
    """Average pooling with PyTorch's ``count_include_pad`` semantics (``ceil_mode=False``).

    Excluding padding: TF ``'SAME'`` already averages over real pixels only, so it is used when it
    pads like PyTorch; otherwise the zero-padded window mean is rescaled by ``k*k / count``, with
    the per-position count of real pixels precomputed from the static shape.
    """

    def __init__(self, in_hw: Sequence[int], *, kernel: int, stride: int, padding: int, count_include_pad: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pool_kernel, self.stride, self.padding = kernel, stride, padding
        self.count_include_pad = count_include_pad
        self.tf_padding = "VALID" if padding == 0 else (None if count_include_pad else _tf_padding(in_hw, kernel, stride, padding))
        self.rescale: np.ndarray | None = None
        if self.tf_padding is None and not count_include_pad:
            counts = [self._counts(s) for s in in_hw]
            self.rescale = (kernel * kernel / np.outer(counts[0], counts[1]))[None, :, :, None].astype(np.float32)

    def _counts(self, size: int) -> np.ndarray:
        k, s, p = self.pool_kernel, self.stride, self.padding
        starts = np.arange(0, size + 2 * p - k + 1, s) - p
        return np.minimum(starts + k, size) - np.maximum(starts, 0)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        if self.tf_padding is not None:
            return tf.nn.avg_pool2d(x, self.pool_kernel, self.stride, self.tf_padding)
        y = tf.nn.avg_pool2d(_pad(x, self.padding), self.pool_kernel, self.stride, "VALID")
        return y * tf.constant(self.rescale, y.dtype) if self.rescale is not None else y


class ReLUConvBN(NasirLayer):
    """ReLU -> Conv (no bias) -> BN: NB201/DARTS ``ReLUConvBN``; roles ``conv.*``, ``bn.*``."""

    takes_training = True

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conv = Conv(in_hw, cin, cout, kernel=a["kernel"], stride=a.get("stride", 1), padding=padding_of(a),
                         dilation=a.get("dilation", 1), name="conv")
        self.bn = BatchNorm(cout, eps=a["eps"], momentum=a["momentum"], affine=a["affine"], name="bn")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return self.bn(self.conv(relu(x)), training=training)

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        return {**self._prefixed("conv", self.conv), **self._prefixed("bn", self.bn)}


class ConvBNReLU(ReLUConvBN):
    """Conv (no bias) -> BN -> ReLU: NB101 ``ConvBnRelu``; roles ``conv.*``, ``bn.*``."""

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        return relu(self.bn(self.conv(x), training=training))


class ResNetBasicBlock(NasirLayer):
    """NB201 ``ResNetBasicblock``: ``residual + conv_b(conv_a(x))``, stride-2 shortcut AvgPool(2) -> Conv 1x1."""

    takes_training = True

    def __init__(self, in_hw: Sequence[int], cin: int, cout: int, a: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        bn = {"eps": a["eps"], "momentum": a["momentum"], "affine": a["affine"]}
        stride = a["stride"]
        mid_hw = [(s + 2 - 3) // stride + 1 for s in in_hw]
        self.conv_a = ReLUConvBN(in_hw, cin, cout, {"kernel": 3, "stride": stride, "padding": 1, **bn}, name="conv_a")
        self.conv_b = ReLUConvBN(mid_hw, cout, cout, {"kernel": 3, "stride": 1, "padding": 1, **bn}, name="conv_b")
        self.pool: AvgPool | None = None
        self.shortcut: NasirLayer | None = None
        if stride == 2:
            self.pool = AvgPool(in_hw, kernel=2, stride=2, padding=0, count_include_pad=True, name="pool")
            self.shortcut = Conv(mid_hw, cin, cout, kernel=1, name="conv")
        elif cin != cout:
            self.shortcut = ReLUConvBN(in_hw, cin, cout, {"kernel": 1, "stride": 1, "padding": 0, **bn}, name="downsample")
        self.built = True

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        basic = self.conv_b(self.conv_a(x, training=training), training=training)
        if self.pool is not None:
            residual = self.shortcut(self.pool(x))
        elif self.shortcut is not None:
            residual = self.shortcut(x, training=training)
        else:
            residual = x
        return residual + basic

    def neutral_variables(self) -> dict[str, tuple[keras.Variable, str]]:
        out = {**self._prefixed("conv_a", self.conv_a), **self._prefixed("conv_b", self.conv_b)}
        prefix = "downsample.conv" if self.pool is not None else "downsample"
        return {**out, **self._prefixed(prefix, self.shortcut)}
