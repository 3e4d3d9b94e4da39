"""Zero-cost proxies, TensorFlow vs torch: the same scores on the same weights and batch, and their cost.

Usage:
    python -P benchmarks/tf_proxies.py [--sample 100] [--seed 0] [--threads 1] [--resume] \\
        [--batch naswot=64 jacob_cov=32 ...] [--proxies meco gennas ...] [--cells 5] [--float64 K] \\
        [--dtype float64] [--out results/x.json]

Sample: the first N of ``numpy.random.default_rng(0).choice(15625, 1000, replace=False)`` (the
sample of benchmarks/proxies_nb201.py). Each cell is the full NB201 network (C=16, N=5, CIFAR-10),
lowered in torch with PyTorch default init from ``--seed`` and copied into Keras through the
neutral weights, so both frameworks score identical weights. Images: the shipped CIFAR-10 sample
(512 training images), normalised to float NCHW once (augmented once with ``--seed`` for the
proxies whose spec augments), which both frontends take as given; each proxy's batch is then
drawn by both frontends' ``make_batch`` from the same seed, i.e. the same images. ``--cells N``
builds the networks with N cells per stage instead (C=16 still), for proxies too slow to run on
100 full networks (gennas: ``--proxies gennas --cells 1``).

Batch sizes are below the reference settings (64/128; ``--batch`` restores them, e.g.
``ntk_cond=64``) so that 100 full networks x 2 frameworks fit in about half an hour on 2 shared
cores; parity does not depend on them. Each proxy runs through its registered implementation
(``TORCH_PROXIES`` / ``TF_PROXIES``) on a private model copy, exactly as ``score`` runs it;
snip, grad_norm and fisher run as the fused loss-gradient pass of ``score_network`` (the test
suites check it equals the separate proxies), its time split in three. Seconds cover the call.
A degenerate network (constant output) scores -inf in both; such pairs count as equal.
``--proxies`` scores only the named proxies (a fused group when any of its names is listed).

What linear_regions, meco and gennas draw besides the weights and batch with torch's generator
(TE-NAS's thin network, MeCo's input image, GenNAS' heads) is handed to the TF frontend through
its ``thin_weights``, ``image`` and ``head_weights`` options, so both score the same thing.
linear_regions and meco run at their reference settings, gennas too (100 SGD iterations, batch 16):
it costs minutes per architecture, far more than all the others together, so runs that include it
usually score fewer architectures (``--proxies gennas --sample 10``).

Per proxy: max and median relative difference |tf - torch| / |torch| over the sample, the number
within 1e-3, Spearman rho between the two frameworks' scores, and seconds per architecture in
each framework. On the architecture where the frameworks differ most, the proxy is also computed
in float64 (the TF frontend with ``dtype="float64"``, same weights and batch; TF and torch agree
to ~1e-12 in float64), giving each float32 framework's own distance from the exact score; not for
linear_regions (a count, through a thin network of its own) nor gennas, whose 100 SGD steps
amplify any float32 round-off: there the worst architecture is rescored by torch with weights
perturbed by 6e-8 relative (float32 round-off), i.e. torch's distance from itself.
``--float64 K`` (gennas) rescores the K architectures where the frameworks differ most in float64 in
both frameworks (the frontends' ``dtype="float64"``: same weights, batch, heads and targets, widened),
keeping both frameworks' eval loss at every checkpoint, plus torch against itself with weights
perturbed at float32 and at float64 round-off; rows go to ``<out>_float64.csv``.
``--dtype float64`` runs the whole comparison in double precision (both frontends' ``dtype`` option:
the float32 weights, batch and draws widened), where a difference of definitions would still show
and float32 round-off no longer does.
Rows are appended to benchmarks/results/tf_proxies.csv as they are scored (``--resume`` skips
those already there); the summary goes to tf_proxies.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import nasir.frontends.tensorflow as tfe  # noqa: E402
import nasir.frontends.torch as pte  # noqa: E402
from nasir import proxy_math  # noqa: E402
from nasir.machine import cpu_label
from nasir.data import load_sample  # noqa: E402
from nasir.frontends.tensorflow.data import augment  # noqa: E402
from nasir.frontends.tensorflow.proxies import TF_PROXIES  # noqa: E402
from nasir.frontends.tensorflow.proxies import _common as tfc  # noqa: E402
from nasir.frontends.tensorflow.proxies import aznas as tf_aznas  # noqa: E402
from nasir.frontends.tensorflow.proxies import gennas as tf_gennas  # noqa: E402
from nasir.frontends.tensorflow.proxies.loss_gradient import loss_gradient  # noqa: E402
from nasir.frontends.torch.proxies import TORCH_PROXIES  # noqa: E402
from nasir.frontends.torch.proxies import _common as ptc  # noqa: E402
from nasir.frontends.torch.proxies import aznas as pt_aznas  # noqa: E402
from nasir.frontends.torch.proxies import gennas as pt_gennas  # noqa: E402
from nasir.frontends.torch.proxies._fused import fused_loss_gradient  # noqa: E402
from nasir.frontends.torch.proxies._guard import DegenerateNetwork  # noqa: E402
from nasir.gennas_signals import get_task, stage_blocks  # noqa: E402
from nasir.proxies import PROXIES  # noqa: E402
from nasir.proxy_batches import PROXY_DTYPES  # noqa: E402
from nasir.proxy_math import thin_network  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import sample_indices  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BATCH = {"naswot": 64, "jacob_cov": 16, "synflow": 1, "snip+grad_norm+fisher": 32, "grasp": 16, "zico": 32,
         "ntk_cond": 8, "params": 1, "flops": 1, "linear_regions": 128, "meco": 1, "ntk_trace": 8, "gennas": 16,
         "az_expressivity+az_progressivity+az_trainability": 64}  # AZ-NAS feeds its own 64 N(0, 1) images
TOL = 1e-3
NO_FLOAT64 = ("linear_regions", "gennas")
ROUND_OFF = 6e-8  # relative weight perturbation of the gennas torch-vs-torch check (float32 eps / 2)
ROUND_OFF64 = 1.1e-16  # the same in float64 (float64 eps / 2)


def nb201(index: int, cells: int):
    """The NB201 network (C=16, CIFAR-10) of ``index`` with ``cells`` cells per stage (5 in the benchmark)."""
    return space.network(space.from_index(int(index)), cells_per_stage=cells)


def timed(run: Callable[[], dict[str, float]], names: list[str]) -> tuple[dict[str, float], float]:
    """(scores, seconds); a constant-output network scores -inf, as ``score`` would give it."""
    start = time.perf_counter()
    try:
        values = {n: proxy_math.finite_score(v, n) for n, v in run().items()}
    except (DegenerateNetwork, tfc.DegenerateNetwork):
        values = dict.fromkeys(names, -math.inf)
    return values, time.perf_counter() - start


def torch_draws(name: str, network, seed: int, batch: ptc.Batch) -> dict:
    """TF options carrying what the torch proxy draws with torch's generator, so both score the same thing."""
    if name == "meco":
        return {"image": torch.randn((1, *batch.x.shape[1:]), generator=torch.Generator().manual_seed(seed)).numpy()}
    if name == "linear_regions":
        return {"thin_weights": pte.export_weights(pte.lower(thin_network(network), seed=seed))}
    if name == "gennas":
        shapes = network.block_shapes()
        heads = pt_gennas._heads([shapes[n][0] for n in stage_blocks(network)], get_task("single"), seed, torch.device("cpu"))
        return {"head_weights": [{"bn/weight": bn.weight, "bn/bias": bn.bias, "bn/running_mean": bn.running_mean,
                                  "bn/running_var": bn.running_var, "conv/weight": conv.weight, "conv/bias": conv.bias}
                                 for bn, conv in heads]}
    if name in pt_aznas.FUSED:  # Kaiming weights, input noise and Rademacher vectors
        return pt_aznas.draws(network, seed)
    return {}


def score_arch(index: int, pools: dict[bool, tuple], batches: dict[str, int], seed: int, cells: int,
               dtype: str = "float32") -> dict:
    network = nb201(index, cells)
    row: dict = {"index": int(index), "arch_str": space.format(space.from_index(int(index)))}
    module = pte.lower(network, seed=seed)
    model = tfe.lower(network, seed=seed)
    tfe.import_weights(model, pte.export_weights(module))
    t_subject = ptc.make_subject(module, seed, "cpu", dtype)
    f_subject = tfc.make_subject(model, seed, dtype)
    for group, size in batches.items():
        names = group.split("+")  # "snip+grad_norm+fisher": the fused loss-gradient pass, timed together
        data = pools[bool(PROXIES.get(names[0]).settings.get("augment", False))]
        tb = ptc.make_batch(data, size, seed, augment_images=False, device=torch.device("cpu"), dtype=dtype)
        fb = tfc.make_batch(data, size, seed, augment_images=False, dtype=dtype)
        fresh = ptc.Subject(t_subject.fresh(), network, t_subject.device, seed)  # torch's score copies per proxy
        if set(names) == pt_aznas.FUSED:  # one pass of each frontend
            az = torch_draws(names[0], network, seed, tb)
            runs = (lambda: pt_aznas.az_scores(fresh, tb, names), lambda: tf_aznas.az_scores(f_subject, fb, names, **az))
        elif len(names) > 1:
            runs = (lambda: fused_loss_gradient(fresh, tb, set(names)), lambda: loss_gradient(f_subject, fb, set(names)))
        else:
            extra = torch_draws(names[0], network, seed, tb)
            runs = (lambda: {names[0]: TORCH_PROXIES.get(names[0]).fn(fresh, tb)},
                    lambda: {names[0]: TF_PROXIES.get(names[0]).fn(f_subject, fb, **extra)})
        for framework, run in zip(("torch", "tf"), runs):
            values, seconds = timed(run, names)
            for name in names:
                row[f"{framework}:{name}"], row[f"s_{framework}:{name}"] = values[name], seconds / len(names)
    return row


def float64_reference(index: int, name: str, pools: dict[bool, tuple], size: int, seed: int, cells: int) -> float:
    """The proxy in float64 on the same weights, batch and draws (where float32 round-off is not the question)."""
    network = nb201(index, cells)
    model = tfe.lower(network, seed=seed)
    tfe.import_weights(model, pte.export_weights(pte.lower(network, seed=seed)))
    data = pools[bool(PROXIES.get(name).settings.get("augment", False))]
    extra = torch_draws(name, network, seed, ptc.make_batch(data, size, seed, augment_images=False, device=torch.device("cpu")))
    batch = tfc.make_batch(data, size, seed, augment_images=False, dtype="float64")
    return TF_PROXIES.get(name).fn(tfc.make_subject(model, seed, "float64"), batch, **extra)


def perturbed_torch(index: int, pools: dict[bool, tuple], size: int, seed: int, cells: int) -> float:
    """gennas by torch with the same weights times (1 + 6e-8 N(0, 1)): how far float32 round-off alone moves it."""
    network = nb201(index, cells)
    module = pte.lower(network, seed=seed)
    rng = np.random.default_rng(seed)
    weights = pte.export_weights(module)
    pte.import_weights(module, {k: v * (1 + ROUND_OFF * rng.standard_normal(v.shape)) for k, v in weights.items()})
    batch = ptc.make_batch(pools[False], size, seed, augment_images=False, device=torch.device("cpu"))
    return TORCH_PROXIES.get("gennas").fn(ptc.make_subject(module, seed, "cpu"), batch)


def float64_torch_perturbed(index: int, pools: dict[bool, tuple], size: int, seed: int, cells: int) -> float:
    """gennas by float64 torch with weights and BN statistics times (1 + 1.1e-16 N(0, 1)): float64 round-off's reach."""
    network = nb201(index, cells)
    module = pte.lower(network, seed=seed).double()
    rng = np.random.default_rng(seed)
    with torch.no_grad():  # in place: export_weights/import_weights go through float32
        for t in (*module.parameters(), *module.buffers()):
            if t.is_floating_point():
                t.mul_(1 + ROUND_OFF64 * torch.from_numpy(rng.standard_normal(tuple(t.shape))))
    batch = ptc.make_batch(pools[False], size, seed, augment_images=False, device=torch.device("cpu"), dtype="float64")
    return TORCH_PROXIES.get("gennas").fn(ptc.make_subject(module, seed, "cpu", "float64"), batch)


def gennas_float64_row(row: dict, pools: dict[bool, tuple], size: int, seed: int, cells: int) -> dict:
    """gennas on one scored architecture in float64 in both frameworks (same weights, batch, heads,
    targets), with the eval losses of every checkpoint (every 10 iterations), and torch against itself
    with weights perturbed at round-off in float32 and in float64: is the float32 difference round-off?"""
    index = row["index"]
    network = nb201(index, cells)
    module = pte.lower(network, seed=seed)
    model = tfe.lower(network, seed=seed)
    tfe.import_weights(model, pte.export_weights(module))
    data = pools[bool(PROXIES.get("gennas").settings.get("augment", False))]
    tb = ptc.make_batch(data, size, seed, augment_images=False, device=torch.device("cpu"), dtype="float64")
    fb = tfc.make_batch(data, size, seed, augment_images=False, dtype="float64")
    heads = torch_draws("gennas", network, seed, tb)["head_weights"]  # float32 heads; the TF proxy widens them
    start = time.perf_counter()
    t64 = pt_gennas.gennas_losses(ptc.make_subject(module, seed, "cpu", "float64"), tb)
    middle = time.perf_counter()
    f64 = tf_gennas.gennas_losses(tfc.make_subject(model, seed, "float64"), fb, head_weights=heads)
    end = time.perf_counter()
    return {"index": index, "arch_str": row["arch_str"], "torch32": row["torch:gennas"], "tf32": row["tf:gennas"],
            "torch64": -t64[-1], "tf64": -f64[-1],
            "torch32_perturbed": perturbed_torch(index, pools, size, seed, cells),
            "torch64_perturbed": float64_torch_perturbed(index, pools, size, seed, cells),
            "s_torch64": middle - start, "s_tf64": end - middle,
            **{f"torch64_loss@{10 * (i + 1)}": v for i, v in enumerate(t64)},
            **{f"tf64_loss@{10 * (i + 1)}": v for i, v in enumerate(f64)}}


def float64_summary(rows: list[dict]) -> dict:
    """Per architecture: float64 TF vs float64 torch (the score, and the first eval checkpoint where
    their losses differ by more than 1e-12), each float32 framework vs the float64 torch score,
    float32 TF vs torch, and torch vs itself with weights perturbed at float32 / float64 round-off."""
    per = []
    for r in rows:
        steps = sorted(int(k.split("@")[1]) for k in r if k.startswith("torch64_loss@"))
        apart = [s for s in steps if rel_diff(r[f"tf64_loss@{s}"], r[f"torch64_loss@{s}"]) > 1e-12]
        per.append({"index": r["index"], "tf64_vs_torch64": rel_diff(r["tf64"], r["torch64"]),
                    "tf64_vs_torch64_first_step_over_1e-12": apart[0] if apart else None,
                    "torch32_vs_64": rel_diff(r["torch32"], r["torch64"]), "tf32_vs_64": rel_diff(r["tf32"], r["torch64"]),
                    "tf32_vs_torch32": rel_diff(r["tf32"], r["torch32"]),
                    "torch32_vs_perturbed": rel_diff(r["torch32_perturbed"], r["torch32"]),
                    "torch64_vs_perturbed": rel_diff(r["torch64_perturbed"], r["torch64"])})
    return {"archs": len(per), "max_tf64_vs_torch64": max(p["tf64_vs_torch64"] for p in per),
            "s_per_arch_torch64": float(np.mean([r["s_torch64"] for r in rows])),
            "s_per_arch_tf64": float(np.mean([r["s_tf64"] for r in rows])), "per_arch": per}


def rel_diff(a: float, b: float) -> float:
    if a == b:  # equal, including both -inf
        return 0.0
    return abs(a - b) / abs(b) if math.isfinite(a) and math.isfinite(b) and b else math.inf


def summarise(rows: list[dict], batches: dict[str, int], pools: dict[bool, tuple], seed: int, cells: int,
              dtype: str = "float32") -> dict:
    out = {}
    for name, size in ((n, size) for group, size in batches.items() for n in group.split("+")):
        t = np.array([r[f"torch:{name}"] for r in rows])
        f = np.array([r[f"tf:{name}"] for r in rows])
        diffs = np.array([rel_diff(a, b) for a, b in zip(f, t)])
        worst = int(np.argmax(diffs))
        out[name] = {
            "max_rel_diff": float(diffs.max()), "median_rel_diff": float(np.median(diffs)),
            f"within_{TOL:g}": int((diffs <= TOL).sum()), "worst_index": rows[worst]["index"],
            "spearman_tf_vs_torch": proxy_math.spearman(f, t), "degenerate": int(np.sum(~np.isfinite(t))),
            "s_per_arch_torch": float(np.mean([r[f"s_torch:{name}"] for r in rows])),
            "s_per_arch_tf": float(np.mean([r[f"s_tf:{name}"] for r in rows])),
        }
        if dtype != "float32":  # the float64 references below explain float32 differences
            continue
        if 1e-6 < diffs[worst] < math.inf and name not in NO_FLOAT64:
            exact = float64_reference(rows[worst]["index"], name, pools, size, seed, cells)
            out[name]["worst_vs_float64"] = {"torch": rel_diff(t[worst], exact), "tf": rel_diff(f[worst], exact)}
        if name == "gennas" and math.isfinite(diffs[worst]):
            again = perturbed_torch(rows[worst]["index"], pools, size, seed, cells)
            out[name]["worst_torch_vs_perturbed_torch"] = rel_diff(again, t[worst])
    return out


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [{k: (v if k == "arch_str" else int(v) if k == "index" else float(v)) for k, v in r.items()} for r in csv.DictReader(f)]


def append_row(path: Path, row: dict) -> None:
    new = not path.exists()
    with open(path, "a", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads and TF intra-op threads")
    parser.add_argument("--batch", nargs="*", default=[], help="group=size overrides, e.g. ntk_cond=64")
    parser.add_argument("--proxies", nargs="*", default=None, help="score only these (default: every proxy in BATCH)")
    parser.add_argument("--resume", action="store_true", help="keep the rows already in the .csv")
    parser.add_argument("--cells", type=int, default=5, help="NB201 cells per stage N (5: the benchmark network)")
    parser.add_argument("--float64", type=int, default=0, metavar="K",
                        help="gennas: rescore the K architectures where TF and torch differ most in float64 in both")
    parser.add_argument("--dtype", choices=PROXY_DTYPES, default="float32",
                        help="both frontends' scoring precision (float64: the float32 problem widened)")
    parser.add_argument("--out", type=Path, default=RESULTS / "tf_proxies.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    batches = {**BATCH, **{k: int(v) for k, v in (kv.split("=", 1) for kv in args.batch)}}
    if args.proxies is not None:
        batches = {group: size for group, size in batches.items() if set(group.split("+")) & set(args.proxies)}
    names = [n for group in batches for n in group.split("+")]
    data = load_sample()
    images = {False: data.x_train, True: augment(data.x_train, np.random.default_rng(args.seed))}
    pools = {aug: (pte.normalize(torch.from_numpy(x), data.mean, data.std).numpy(), data.y_train) for aug, x in images.items()}
    table = args.out.with_suffix(".csv")
    if not args.resume:
        table.unlink(missing_ok=True)
    done = {r["index"]: r for r in read_rows(table)}
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", proxy_math.ProxyWarning)
        for i, index in enumerate(sample_indices(args.sample)):
            if int(index) in done:
                rows.append(done[int(index)])
                continue
            rows.append(score_arch(index, pools, batches, args.seed, args.cells, args.dtype))
            append_row(table, rows[-1])
            print(f"{i + 1}/{args.sample} index {index}: " + " ".join(
                f"{n}={rel_diff(rows[-1][f'tf:{n}'], rows[-1][f'torch:{n}']):.1e}" for n in names), flush=True)
        summary = summarise(rows, batches, pools, args.seed, args.cells, args.dtype)
        if args.float64 and "gennas" in summary:
            wide_table = args.out.with_name(args.out.stem + "_float64.csv")
            wide_done = {r["index"]: r for r in read_rows(wide_table)} if args.resume else {}
            if not args.resume:
                wide_table.unlink(missing_ok=True)
            order = sorted(rows, key=lambda r: -rel_diff(r["tf:gennas"], r["torch:gennas"]))[:args.float64]
            wide = []
            for r in order:
                if r["index"] not in wide_done:
                    wide_done[r["index"]] = gennas_float64_row(r, pools, batches["gennas"], args.seed, args.cells)
                    append_row(wide_table, wide_done[r["index"]])
                    w = wide_done[r["index"]]
                    print(f"float64 index {r['index']}: tf64 vs torch64 {rel_diff(w['tf64'], w['torch64']):.1e}, "
                          f"torch32 {rel_diff(w['torch32'], w['torch64']):.1e}, tf32 {rel_diff(w['tf32'], w['torch64']):.1e} "
                          f"from float64", flush=True)
                wide.append(wide_done[r["index"]])
            summary["gennas"]["float64_on_worst"] = float64_summary(wide)
    result = {
        "proxies": summary, "sample": args.sample, "seed": args.seed, "batch_sizes": batches,
        "network": f"NB201 C=16 N={args.cells} CIFAR-10", "threads": args.threads, "dtype": args.dtype,
        "proxy_seconds": round(sum(v for r in rows for k, v in r.items() if k.startswith("s_")), 1),
        "date": datetime.date.today().isoformat(), "machine": cpu_label(),
        "torch": torch.__version__, "tensorflow": tf.__version__,
        "definition": "rel diff = |tf - torch| / |torch| per architecture (both -inf counts as 0); spearman over the "
                      "sample between the two frameworks' scores; seconds = one proxy call on one architecture; "
                      "worst_vs_float64 = each framework's rel diff from the float64 score on the worst architecture; "
                      "worst_torch_vs_perturbed_torch (gennas) = torch's rel diff from itself with weights perturbed "
                      f"by {ROUND_OFF:g} relative, on the worst architecture; float64_on_worst (gennas, --float64 K) = "
                      "on the K architectures where TF and torch differ most, gennas in float64 in both frameworks "
                      "(same weights, batch, heads, targets) against each other (final score, and the first eval "
                      "checkpoint where their losses differ by > 1e-12) and against the float32 scores; "
                      f"torch64_vs_perturbed = float64 torch vs itself with weights x (1 + {ROUND_OFF64:g} N(0, 1))",
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, s in result["proxies"].items():
        print(f"{name:10s} max_rel {s['max_rel_diff']:.2e} spearman {s['spearman_tf_vs_torch']:.5f} "
              f"s/arch torch {s['s_per_arch_torch']:.3f} tf {s['s_per_arch_tf']:.3f}")


if __name__ == "__main__":
    main()
