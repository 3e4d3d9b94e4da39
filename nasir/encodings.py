"""Fixed-length architecture encodings for performance predictors.

Generic building blocks; each space picks its vocabulary and documents the resulting lengths:
    * adjacency one-hot (BANANAS, White et al. 2021 "A Study on Encodings for NAS", Sec. 3):
      flattened strictly-upper-triangular adjacency followed by one-hot ops;
    * path encoding (BANANAS, Sec. 4): one bit per possible input->output path, a path being
      the sequence of op labels along it; length ``sum(len(vocab)**k for k in lengths)``;
    * truncated path encoding: the first ``k`` entries of the path encoding (the shortest paths,
      which BANANAS shows carry almost all the information);
    * categorical: one integer per decision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nasir.ir import Arch, input_output_paths

__all__ = ["adjacency_onehot", "path_encoding_length", "path_encoding", "categorical", "onehot"]

DEAD = "__dead__"


def onehot(indices: Sequence[int], num_options: int) -> np.ndarray:
    """Concatenated one-hot vectors, ``len(indices) * num_options`` long."""
    out = np.zeros((len(indices), num_options), dtype=np.float32)
    out[np.arange(len(indices)), np.asarray(indices, dtype=int)] = 1.0
    return out.reshape(-1)


def categorical(indices: Sequence[int]) -> np.ndarray:
    """The decisions themselves as a float vector."""
    return np.asarray(indices, dtype=np.float32)


def adjacency_onehot(matrix: np.ndarray, op_indices: Sequence[int], num_ops: int) -> np.ndarray:
    """Upper-triangular adjacency (row-major, above the diagonal) then one-hot ops."""
    matrix = np.asarray(matrix)
    upper = matrix[np.triu_indices(matrix.shape[0], k=1)].astype(np.float32)
    return np.concatenate([upper, onehot(op_indices, num_ops)])


def path_encoding_length(vocab_size: int, lengths: range) -> int:
    return sum(vocab_size**k for k in lengths)


def path_encoding(
    arch: Arch,
    label: Callable[[str], str | None],
    vocab: Sequence[str],
    lengths: range,
    truncate: int | None = None,
) -> np.ndarray:
    """Binary path encoding.

    Args:
        arch: the cell.
        label: maps a node id to its vocabulary symbol, to ``None`` for nodes paths pass through
            unlabelled (input, output, add, concat), or to :data:`DEAD` for nodes that kill a path
            (``zero``): such paths carry no signal and are not encoded.
        vocab: the ordered op vocabulary.
        lengths: admissible path lengths (number of labelled ops on a path).
        truncate: keep only the first ``truncate`` entries.
    """
    index = {op: i for i, op in enumerate(vocab)}
    offsets, total = {}, 0
    for k in lengths:
        offsets[k] = total
        total += len(vocab) ** k
    out = np.zeros(total, dtype=np.float32)
    for path in input_output_paths(arch):
        labels = [label(n) for n in path]
        if DEAD in labels:
            continue
        ops = [lab for lab in labels if lab is not None]
        position = 0
        for op in ops:
            position = position * len(vocab) + index[op]
        out[offsets[len(ops)] + position] = 1.0
    return out[:truncate] if truncate is not None else out
