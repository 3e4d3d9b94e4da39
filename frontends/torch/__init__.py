"""PyTorch frontend: lower IR networks to ``nn.Module``, move neutral weights, train.

Imported only as ``nasir.frontends.torch`` (``import torch`` inside resolves to PyTorch itself).

    >>> from nasir.spaces.nb201 import space
    >>> from nasir.frontends.torch import lower, export_weights
    >>> model = lower(space.network(space.sample(0)), seed=0)      # official TinyNetwork
    >>> weights = export_weights(model)                            # {"cells.3/e0_1/conv.weight": ndarray, ...}
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as _err:
    from nasir.errors import MissingDependencyError

    raise MissingDependencyError(f"the PyTorch frontend needs torch ({_err}): pip install 'nasir[torch]'") from _err

from nasir.frontends.torch.checkpoint import load_checkpoint, model_hash, save_checkpoint
from nasir.frontends.torch.data import ImageBatches, augment, normalize
from nasir.frontends.torch.evaluator import TrainEvaluator
from nasir.frontends.torch.lowerings import LOWERINGS, register_lowering
from nasir.frontends.torch import lowerings_cnn  # noqa: F401  (registers the DARTS and MobileNet lowerings)
from nasir.frontends.torch.modules import ArchModule, NetworkModule, lower
from nasir.frontends.torch.proxies import TORCH_PROXIES as proxy_implementations
from nasir.frontends.torch.proxies import score, score_many, unsupported_proxies
from nasir.frontends.torch.train import Recipe, TrainResult, evaluate, resolve_device, set_threads, train
from nasir.frontends.torch.weights import export_weights, import_weights

__all__ = [
    "LOWERINGS", "ArchModule", "ImageBatches", "NetworkModule", "Recipe", "TrainEvaluator", "TrainResult", "augment",
    "evaluate", "export_weights", "import_weights", "load_checkpoint", "lower", "model_hash", "normalize",
    "proxy_implementations", "register_lowering", "resolve_device", "save_checkpoint", "score", "score_many", "set_threads", "train",
    "unsupported_proxies",
]
