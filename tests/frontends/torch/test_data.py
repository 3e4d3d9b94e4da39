"""Data: CIFAR-10 python batches (good, missing, malformed, hostile), the shipped sample, augmentation."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from nasir.data import ImageData, load_cifar10, load_sample, read_cifar_batch
from nasir.errors import BenchmarkFileError, DataConfigError, SchemaError
from nasir.frontends.torch import ImageBatches, augment, normalize


def _images(n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 3072), dtype=np.uint8), [int(v) for v in rng.integers(0, 10, n)]


def write_batch(path: Path, n: int, seed: int, *, numpy1: bool = True) -> tuple[np.ndarray, list[int]]:
    """A batch in the official layout; ``numpy1`` rewrites the globals as numpy 1.x (the real files) wrote them."""
    data, labels = _images(n, seed)
    raw = pickle.dumps({b"batch_label": b"test", b"labels": labels, b"data": data, b"filenames": [b"x.png"] * n}, protocol=2)
    if numpy1:
        raw = raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    path.write_bytes(raw)
    return data, labels


@pytest.fixture()
def cifar_dir(tmp_path: Path) -> Path:
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        write_batch(root / f"data_batch_{i}", 6, i)
    write_batch(root / "test_batch", 4, 99)
    return root


def test_cifar10_batches_load_channel_major_rows_as_nhwc(cifar_dir: Path) -> None:
    data = load_cifar10(cifar_dir)
    assert data.x_train.shape == (30, 32, 32, 3) and data.x_val.shape == (4, 32, 32, 3)
    raw, labels = _images(6, 1)
    assert np.array_equal(data.x_train[0, :, :, 1].ravel(), raw[0, 1024:2048])  # green plane
    assert data.y_train[:6].tolist() == labels and data.y_train.dtype == np.int64
    assert load_cifar10(cifar_dir.parent).x_train.shape == data.x_train.shape  # the parent folder works too
    assert data.input_shape == (3, 32, 32)


def test_missing_directory_and_missing_batch_are_named(cifar_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(BenchmarkFileError, match="nowhere.*does not exist"):
        load_cifar10(tmp_path / "nowhere")
    (cifar_dir / "data_batch_3").unlink()
    with pytest.raises(BenchmarkFileError, match="data_batch_3"):
        load_cifar10(cifar_dir)


@pytest.mark.parametrize(("content", "message"), [
    (b"this is not a pickle", "not a python pickle"),
    (pickle.dumps([1, 2, 3]), "holds a list"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}), "lacks key 'labels'"),
    (pickle.dumps({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}), r"uint8 \(n, 3072\)"),
    (pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 12]}), "labels must be 0..9"),
])
def test_malformed_batches_raise_schema_errors_naming_the_file(cifar_dir: Path, content: bytes, message: str) -> None:
    (cifar_dir / "test_batch").write_bytes(content)
    with pytest.raises(SchemaError, match=message) as info:
        load_cifar10(cifar_dir)
    assert "test_batch" in str(info.value)


class _Hostile:
    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.target),))


def test_a_hostile_pickle_runs_no_code(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    hostile = _Hostile()
    hostile.target = str(target)
    (tmp_path / "bad").write_bytes(pickle.dumps({b"data": hostile, b"labels": []}))
    with pytest.raises(SchemaError, match="not allowed"):
        read_cifar_batch(tmp_path / "bad")
    assert not target.exists()


def test_shipped_sample_is_real_cifar10() -> None:
    data = load_sample()
    assert data.x_train.dtype == np.uint8 and data.x_train.shape[1:] == (32, 32, 3)
    assert len(data.x_train) >= 256 and len(data.x_val) >= 64
    assert set(np.unique(data.y_train)) == set(range(10))
    mean = data.x_train.reshape(-1, 3).mean(0)
    assert np.allclose(mean, (125.3, 123.0, 113.9), atol=4.0)  # CIFAR-10 channel means


def test_image_data_validates_its_arrays() -> None:
    with pytest.raises(SchemaError, match="uint8 NHWC"):
        ImageData(np.zeros((2, 32, 32, 3), np.float32), np.zeros(2, np.int64), np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, np.int64))
    with pytest.raises(SchemaError, match="labels must lie in 0..9"):
        ImageData(np.zeros((2, 32, 32, 3), np.uint8), np.array([0, 10]), np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, np.int64))


def test_augment_is_a_padded_crop_and_flip() -> None:
    x = torch.arange(2 * 4 * 4 * 1, dtype=torch.uint8).reshape(2, 4, 4, 1)
    g = torch.Generator().manual_seed(0)
    out = augment(x, g, padding=0, flip=False)
    assert torch.equal(out, x)
    for seed in range(20):
        out = augment(x, torch.Generator().manual_seed(seed), padding=1, flip=True)
        for b in range(2):
            padded = torch.nn.functional.pad(x[b, :, :, 0], (1, 1, 1, 1))
            crops = [padded[i:i + 4, j:j + 4] for i in range(3) for j in range(3)]
            crops += [c.flip(1) for c in crops]
            assert any(torch.equal(out[b, :, :, 0], c) for c in crops)
    a = augment(x, torch.Generator().manual_seed(5), padding=2)
    assert torch.equal(a, augment(x, torch.Generator().manual_seed(5), padding=2))


def test_batches_normalise_and_cover_every_image_once() -> None:
    x = np.random.default_rng(0).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    y = np.arange(10) % 10
    batches = ImageBatches(x, y, 4, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), train=True,
                           generator=torch.Generator().manual_seed(0))
    seen = torch.cat([yb for _, yb in batches])
    assert len(batches) == 3 and sorted(seen.tolist()) == y.tolist()
    plain = ImageBatches(x, y, 10, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    xb, _ = next(iter(plain))
    assert xb.shape == (10, 3, 32, 32) and xb.is_contiguous()
    assert torch.allclose(xb[0, 1, 2, 3], torch.tensor((x[0, 2, 3, 1] / 255 - 0.5) / 0.25, dtype=torch.float32))
    assert torch.equal(normalize(torch.from_numpy(x), (0.5,) * 3, (0.25,) * 3), xb)
    with pytest.raises(DataConfigError, match="training batches need a torch.Generator for shuffling and augmentation"):
        ImageBatches(x, y, 4, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), train=True)
