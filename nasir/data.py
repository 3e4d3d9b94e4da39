"""Framework-free image data: CIFAR-10 from its on-disk python batches, and the shipped sample.

Arrays are numpy, images ``uint8`` NHWC (``(n, 32, 32, 3)``), labels ``int64``. Frontends add
augmentation and batching; this module never imports a deep-learning framework.

The CIFAR-10 "python version" (Krizhevsky, 2009) stores ``data_batch_1`` .. ``data_batch_5`` and
``test_batch`` as pickled dicts with ``b"data"`` (``(10000, 3072)`` uint8, channel-major rows) and
``b"labels"``. They are read with a restricted unpickler that only rebuilds plain containers and
numpy arrays, so a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from nasir.errors import BenchmarkFileError, SchemaError

__all__ = ["ImageData", "CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_CLASSES", "load_cifar10", "load_sample", "read_cifar_batch"]

# NAS-Bench-201's normalisation (xautodl ``get_datasets``): mean/std of CIFAR-10 pixels / 255.
CIFAR10_MEAN = tuple(x / 255 for x in (125.3, 123.0, 113.9))
CIFAR10_STD = tuple(x / 255 for x in (63.0, 62.1, 66.7))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
SAMPLE_RESOURCE = "data/cifar10_sample.npz"


@dataclass(frozen=True)
class ImageData:
    """A classification data set held in memory.

    Args:
        x_train, y_train: training images (uint8 NHWC) and labels.
        x_val, y_val: held-out images and labels used for validation accuracy.
        num_classes: number of classes.
        mean, std: per-channel normalisation (fractions of 255).
        name: for logs and checkpoints.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int = 10
    mean: tuple[float, ...] = CIFAR10_MEAN
    std: tuple[float, ...] = CIFAR10_STD
    name: str = "cifar10"

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.x_train, self.y_train), ("val", self.x_val, self.y_val)):
            if x.ndim != 4 or x.dtype != np.uint8 or len(x) != len(y):
                raise SchemaError(f"{self.name} {split} split needs uint8 NHWC images and one label each, got x {x.dtype}{x.shape}, y {y.shape}")
            if len(y) and (y.min() < 0 or y.max() >= self.num_classes):
                raise SchemaError(f"{self.name} {split} labels must lie in 0..{self.num_classes - 1}, got {y.min()}..{y.max()}")

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Per-sample shape channels first, as the IR wants it."""
        _, h, w, c = self.x_train.shape
        return (c, h, w)

    def subset(self, n_train: int | None = None, n_val: int | None = None) -> ImageData:
        """The first ``n_train`` / ``n_val`` images (the sample's order is the canonical one)."""
        return ImageData(self.x_train[:n_train], self.y_train[:n_train], self.x_val[:n_val], self.y_val[:n_val],
                         self.num_classes, self.mean, self.std, self.name)


class _SafeUnpickler(pickle.Unpickler):
    """Allows only the globals a CIFAR batch needs (numpy array reconstruction)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol-2 pickles
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR batch")
        if module.startswith("numpy.core.") and hasattr(np, "_core"):
            module = "numpy._core." + module[len("numpy.core."):]  # files pickled by numpy 1.x
        return super().find_class(module, name)


def read_cifar_batch(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch -> ``(x uint8 (n, 32, 32, 3), y int64 (n,))``.

    Raises:
        BenchmarkFileError: the file is missing or unreadable.
        SchemaError: the file is not a CIFAR batch (naming the file and what is wrong).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise BenchmarkFileError(f"CIFAR-10 batch {str(path)!r} cannot be read: {err.strerror or err}") from None
    try:
        obj = _SafeUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as err:  # noqa: BLE001 - any unpickling failure means a malformed file
        raise SchemaError(f"CIFAR-10 batch {str(path)!r} is not a python pickle of the CIFAR format: {err}") from None
    if not isinstance(obj, dict):
        raise SchemaError(f"CIFAR-10 batch {str(path)!r} holds a {type(obj).__name__}, expected a dict with b'data' and b'labels'")
    obj = {k.decode() if isinstance(k, bytes) else k: v for k, v in obj.items()}
    if "data" not in obj or "labels" not in obj:
        raise SchemaError(f"CIFAR-10 batch {str(path)!r} lacks key {'data' if 'data' not in obj else 'labels'!r} (has {sorted(map(str, obj))})")
    data, labels = np.asarray(obj["data"]), np.asarray(obj["labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (len(data),):
        raise SchemaError(f"CIFAR-10 batch {str(path)!r}: data must be uint8 (n, 3072) with n labels, got {data.dtype}{data.shape} and {labels.shape} labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise SchemaError(f"CIFAR-10 batch {str(path)!r}: labels must be 0..9, got {labels.min()}..{labels.max()}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels.astype(np.int64)


def _batch_dir(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise BenchmarkFileError(f"CIFAR-10 directory {str(root)!r} does not exist; download the python version "
                                 "(cifar-10-python.tar.gz) and pass the extracted 'cifar-10-batches-py' folder")
    nested = root / "cifar-10-batches-py"
    return nested if nested.is_dir() and not (root / TEST_BATCH).exists() else root


def load_cifar10(root: str | Path, *, train_batches: tuple[str, ...] = TRAIN_BATCHES) -> ImageData:
    """CIFAR-10 from the standard python batches (train: ``data_batch_1..5``, val: ``test_batch``).

    Args:
        root: the ``cifar-10-batches-py`` folder, or its parent.
        train_batches: which training batch files to read.

    Raises:
        BenchmarkFileError: the folder or a batch file is missing (naming it).
        SchemaError: a batch file is malformed (naming it).
    """
    folder = _batch_dir(root)
    parts = [read_cifar_batch(folder / name) for name in train_batches]
    x_val, y_val = read_cifar_batch(folder / TEST_BATCH)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return ImageData(x_train, y_train, x_val, y_val, name="cifar10")


def load_sample() -> ImageData:
    """The CIFAR-10 subset shipped with nasir (``nasir/spaces/data/cifar10_sample.npz``).

    Training images come from the CIFAR-10 training set and validation images from its test set
    (by the file's ``split`` array when present, else the last fifth is held out).
    """
    try:
        ref = resources.files("nasir.spaces").joinpath(SAMPLE_RESOURCE)
        with ref.open("rb") as handle, np.load(handle, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (FileNotFoundError, ModuleNotFoundError) as err:
        raise BenchmarkFileError(f"the shipped CIFAR-10 sample nasir/spaces/{SAMPLE_RESOURCE} is missing ({err}); reinstall nasir") from None
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise SchemaError(f"nasir/spaces/{SAMPLE_RESOURCE} is not a readable .npz file: {err}") from None
    if "x" not in arrays or "y" not in arrays:
        raise SchemaError(f"nasir/spaces/{SAMPLE_RESOURCE} must hold arrays 'x' and 'y', has {sorted(arrays)}")
    x, y = arrays["x"], arrays["y"].astype(np.int64)
    val = arrays["split"].astype(bool) if "split" in arrays else np.arange(len(x)) >= len(x) * 4 // 5
    return ImageData(x[~val], y[~val], x[val], y[val], name="cifar10-sample")
