"""NAS-Bench-201 as a grammar vs the hand-written space: every cell, by canonical hash; the hierarchical space.

Usage: python -P benchmarks/grammar_nb201.py [--hierarchical 20] [--out benchmarks/results/grammar_nb201.json]

* count of the NB201 grammar by dynamic programming (no enumeration) and by enumeration;
* the canonical hashes of all 15,625 derived cells vs those of all 15,625 hand-written cells
  (``nasir.spaces.nb201``), as sets; each derivation's arch string vs the official strings, and
  the derived cell vs the hand-written cell of the same string (hash equality, cell by cell);
* the size of ``nasir.spaces.grammars.hierarchical`` by DP, and the time it takes; its first
  ``--hierarchical`` sampled networks (seeds 0..n-1) exported to ONNX with random weights, checked
  with ``onnx.checker`` (full) and run in onnxruntime against torch (eval mode) on a 2x3x32x32
  N(0, 1) batch: ``rel_err = max|ort - torch| / max|torch|``.
The default test run checks a random fifth of the hashes (tests/grammar/test_nb201_grammar.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

from nasir.grammar import count, derive_arch, enumerate_trees
from nasir.spaces import _nb201_index, nb201
from nasir.spaces.grammars import HIERARCHICAL_GRAMMAR, NB201_GRAMMAR, nb201_string
from nasir.spaces.grammars import hierarchical as space


def nb201_equivalence() -> dict:
    t0 = time.perf_counter()
    dp = count(NB201_GRAMMAR)
    dp_seconds = time.perf_counter() - t0
    trees = list(enumerate_trees(NB201_GRAMMAR))
    t1 = time.perf_counter()
    derived = {nb201_string(t): derive_arch(NB201_GRAMMAR, t).canonical_hash() for t in trees}
    t2 = time.perf_counter()
    hand = {s: nb201.space.parse(s).canonical_hash() for s in _nb201_index.arch_strings()}
    t3 = time.perf_counter()
    return {
        "count_dp": dp, "count_dp_seconds": round(dp_seconds, 6), "count_enumerated": len(trees),
        "distinct_hashes_grammar": len(set(derived.values())), "distinct_hashes_hand_written": len(set(hand.values())),
        "hash_sets_equal": set(derived.values()) == set(hand.values()),
        "strings_equal": set(derived) == set(hand),
        "cell_by_cell_mismatches": sum(derived[s] != hand.get(s) for s in derived),
        "seconds_grammar_derive_and_hash": round(t2 - t1, 1), "seconds_hand_written_build_and_hash": round(t3 - t2, 1),
    }


def hierarchical(n: int) -> dict:
    import numpy as np
    import onnx
    import torch

    from nasir.backends.onnx import export, random_weights, run
    from nasir.frontends.torch import import_weights, lower

    t0 = time.perf_counter()
    size = count(HIERARCHICAL_GRAMMAR)
    dp_seconds = time.perf_counter() - t0
    errors, params = [], []
    for seed in range(n):
        network = space.network(space.sample(seed))
        weights = random_weights(network.weight_specs(), seed)
        model = export(network, weights)
        onnx.checker.check_model(model, full_check=True)  # raises on failure: the run stops loudly
        module = lower(network, seed=seed).eval()
        import_weights(module, weights)
        x = np.random.default_rng(seed).normal(size=(2, *network.input_shape)).astype(np.float32)
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
        errors.append(float(np.abs(run(model, x) - expected).max() / np.abs(expected).max()))
        params.append(network.count_params())
    return {"size": size, "size_text": f"{size:.3e}", "dp_seconds": round(dp_seconds, 6), "networks": n,
            "check_model_full": n, "max_rel_err": max(errors, default=None), "params_min": min(params, default=None),
            "params_max": max(params, default=None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hierarchical", type=int, default=20, help="sampled hierarchical networks to export and run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/grammar_nb201.json"))
    args = parser.parse_args()
    result = {"machine": platform.machine(), "python": platform.python_version(),
              "nb201_grammar": nb201_equivalence(), "hierarchical": hierarchical(args.hierarchical)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
