"""A new search space from a short grammar, searched with a zero-cost proxy, the best exported to ONNX.

    python examples/new_space_grammar.py [OUT_DIR]

Writes ``OUT_DIR/best.onnx`` and ``OUT_DIR/summary.json`` (default OUT_DIR: ``grammar_example``).
Needs the torch and onnx extras; runs in well under a minute on a laptop CPU.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import onnx

from nasir.backends.onnx import export
from nasir.data import load_sample
from nasir.frontends.torch.proxies import score
from nasir.grammar import Grammar, GrammarSpace, choice, dag, op, repeat, seq
from nasir.strategies import make_strategy

# ---- the space: a stem, 1-2 cells, a down-sampling block, 1-2 cells, a classifier ---------------
grammar = Grammar({
    "NET": seq(op("conv", out_channels=8, kernel=3), "batch_norm", "STACK",
               op("resnet_basic_block", out_channels=16, stride=2), "STACK", "global_avg_pool", op("linear", out_features=10)),
    "STACK": repeat("CELL", times=(1, 2)),
    "CELL": [seq("OP", "OP"),                                                            # chain
             dag({"sum": "add"}, [("in", "sum", "OP"), ("in", "sum", "OP"), ("sum", "out")])],  # two branches
    "OP": [op("relu_conv_bn", kernel=choice(1, 3, 5)), "identity", op("max_pool", kernel=3)],
}, start="NET")
space = GrammarSpace(grammar, name="tiny-cifar", input_shape=(3, 32, 32))

# ---- the search: aging evolution scored by SynFlow (its input shape comes from the CIFAR-10 sample) -
data, trials = load_sample(), 30
strategy = make_strategy("rea", space, seed=0, population_size=10, sample_size=3)
for _ in range(trials):
    (arch,) = strategy.ask()
    strategy.tell(arch, score(space.network(arch), "synflow", data, seed=0))
best, best_score = max(strategy.done(), key=lambda pair: pair[1])

# ---- the best network to ONNX (random stand-in weights; train it first for real use) -------------
out = Path(sys.argv[1] if len(sys.argv) > 1 else "grammar_example")
out.mkdir(parents=True, exist_ok=True)
model = export(space.network(best))
onnx.checker.check_model(model, full_check=True)
onnx.save(model, out / "best.onnx")
summary = {"space_size": space.size(), "trials": trials, "best": space.format(best), "synflow": best_score,
           "params": space.network(best).count_params(), "onnx": str(out / "best.onnx")}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
