"""TensorFlow frontend: lower IR networks to Keras 3 models (NHWC), move neutral weights, score, train.

Imported only as ``nasir.frontends.tensorflow`` (``import tensorflow`` inside resolves to
TensorFlow itself). Needs the ``tf`` extra: ``pip install 'nasir[tf]'``; without it, importing
this package raises :class:`~nasir.errors.MissingDependencyError` naming the extra.

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.frontends.tensorflow import lower, export_weights, import_weights
    >>> model = lower(space.network(space.sample(0)), seed=0)     # takes (N, 32, 32, 3)
    >>> nchw = lower(space.network(space.sample(0)), layout="NCHW")  # takes torch's (N, 3, 32, 32)
    >>> import_weights(model, weights_exported_from_torch)          # same numbers as torch
    >>> score(model, "synflow", load_sample(), seed=0)              # zero-cost proxies, torch's definitions
    >>> TrainEvaluator(space, "sample", epochs=1)(space.sample(0))  # torch's recipe, in TensorFlow

The same entry points as ``nasir.frontends.torch`` (``nasir.frameworks.get_frontend`` picks one
by name): ``lower``, ``export_weights``, ``import_weights``, ``score``, ``score_many``,
``train``, ``Recipe``, ``TrainEvaluator``, ``unsupported_proxies``, ``set_threads``.

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
from nasir.frontends.tensorflow import lowerings_cnn  # noqa: E402,F401  (registers the DARTS and MobileNet lowerings)
from nasir.frontends.tensorflow.models import LAYOUTS, ArchModel, NetworkModel, lower, numpy_forward  # noqa: E402
from nasir.frontends.tensorflow.weights import copy_model, export_weights, import_weights  # noqa: E402
from nasir.frontends.tensorflow.proxies import TF_PROXIES as proxy_implementations  # noqa: E402
from nasir.frontends.tensorflow.proxies import score, score_many, score_network, unsupported_proxies  # noqa: E402
from nasir.frontends.tensorflow.train import Recipe, TrainResult, evaluate, set_threads, train  # noqa: E402
from nasir.frontends.tensorflow.evaluator import TrainEvaluator  # noqa: E402

__all__ = [
    "LAYOUTS", "LOWERINGS", "ArchModel", "NasirLayer", "NetworkModel", "Recipe", "TrainEvaluator", "TrainResult",
    "copy_model", "evaluate", "export_weights", "import_weights", "lower", "numpy_forward", "proxy_implementations", "register_lowering", "score",
    "score_many", "score_network", "set_threads", "train", "unsupported_proxies",
]
