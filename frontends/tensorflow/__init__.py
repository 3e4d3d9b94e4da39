"""TensorFlow frontend: lower IR networks to Keras 3 models (NHWC), move neutral weights.

Imported only as ``nasir.frontends.tensorflow`` (``import tensorflow`` inside resolves to
TensorFlow itself). Needs the ``tf`` extra: ``pip install 'nasir[tf]'``; without it, importing
this package raises :class:`~nasir.errors.MissingDependencyError` naming the extra.

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.frontends.tensorflow import lower, export_weights, import_weights
    >>> model = lower(space.network(space.sample(0)), seed=0)     # takes (N, 32, 32, 3)
    >>> nchw = lower(space.network(space.sample(0)), layout="NCHW")  # takes torch's (N, 3, 32, 32)
    >>> import_weights(model, weights_exported_from_torch)          # same numbers as torch

Set ``TF_CPP_MIN_LOG_LEVEL=3`` and ``TF_ENABLE_ONEDNN_OPTS=0`` before TensorFlow is first imported
for quiet logs and deterministic CPU numerics.
"""

from __future__ import annotations

try:
    import keras as _keras
    import tensorflow as _tf  # noqa: F401
except ImportError as _err:
    from nasir.errors import MissingDependencyError

    raise MissingDependencyError(
        f"the TensorFlow frontend needs TensorFlow 2.16+ with Keras 3 ({_err}): pip install 'nasir[tf]'"
    ) from _err

if not str(_keras.__version__).startswith("3") or _keras.backend.backend() != "tensorflow":
    from nasir.errors import MissingDependencyError

    raise MissingDependencyError(
        f"the TensorFlow frontend needs Keras 3 on the TensorFlow backend, found keras {_keras.__version__} "
        f"with backend {_keras.backend.backend()!r}: pip install 'nasir[tf]' and unset KERAS_BACKEND"
    )

from nasir.frontends.tensorflow.layers import NasirLayer  # noqa: E402
from nasir.frontends.tensorflow.lowerings import LOWERINGS, register_lowering  # noqa: E402
from nasir.frontends.tensorflow.models import LAYOUTS, ArchModel, NetworkModel, lower, numpy_forward  # noqa: E402
from nasir.frontends.tensorflow.weights import export_weights, import_weights  # noqa: E402

__all__ = [
    "LAYOUTS", "LOWERINGS", "ArchModel", "NasirLayer", "NetworkModel", "export_weights", "import_weights", "lower",
    "numpy_forward", "register_lowering",
]
