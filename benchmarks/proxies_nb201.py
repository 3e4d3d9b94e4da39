"""Zero-cost proxy quality on NAS-Bench-201: Spearman/Kendall vs ground truth, time per arch, NASLib check.

Usage:
    python benchmarks/proxies_nb201.py --sample 100 --seed 0 --dataset cifar10 \\
        [--proxies naswot synflow ...] [--naslib ../shared/data/nb201_zc/nb201_zc_naslib_cifar10.csv] [--resume]

Sample: the first N of ``numpy.random.default_rng(0).choice(15625, 1000, replace=False)`` (BENCH.md's
standard sample; ``--sample 15625`` scores every cell in index order). Each cell is the full NB201
network (C=16, N=5) with PyTorch default init from ``--seed``; images are the shipped CIFAR-10
sample (512 training images), one batch per proxy batch size drawn with ``--seed`` and shared by
all architectures. ``--fresh-batch`` instead draws, per architecture, its own augmented batch of
64 (zero-cost-nas's protocol, see :func:`fresh_batch`); ``--batch-seed S`` draws one such batch
from seed ``S`` and shares it (weights still from ``--seed``: the shared protocol's batch
sensitivity). ``--fresh-init`` (with ``--fresh-batch``) also gives each architecture its own
initial weights, seeded by ``[seed, index]``, as zero-cost-nas's running global RNG does: its
full protocol. ``--cell-conv-bias`` adds the one code difference found in zero-cost-nas's NB201
network: its cell convs carry a bias (PyTorch default init; reduction blocks stay bias-free).
Proxy variants are written ``name:key=value`` (``synflow:bn=identity``).

Ground truth (columns of the shipped table): ``nb201v11_cifar10valid_test_acc`` (what zero-cost-nas
correlated with; published figures are on this column), ``cifar10_test_acc``, ``cifar100_test_acc``,
``imagenet16_test_acc`` (the same CIFAR-10 scores against the other data sets' accuracies).
Ensemble rows: ``rank(...)`` sums each member's ranks (TE-NAS style); the AZ-NAS row sums
``log(rank / n)`` of its members (``nasir.proxy_ensembles.rank_ensemble(method="log")``), and its
published value is on ``cifar10_test_acc`` over all 15,625 cells. TE-NAS's own combination (dense ranks of
``ntk_cond`` and ``linear_regions``, ``nasir.proxy_ensembles.tenas_rank``) appears once both are joined, e.g.
``--proxies linear_regions --tag lr --summarize-only --also <tenas_gennas_proxies ntk_cond csv>``.
The AZ-NAS terms re-initialise the weights (Kaiming, as their reference) and feed Gaussian noise, not images;
``--proxies az_expressivity+az_progressivity+az_trainability flops`` scores them in one fused pass.
Per-architecture rows are appended to ``<out>/proxies_nb201_<dataset>_n<N>_s<seed>.csv`` as they are
scored (``--resume`` skips rows already there); the summary goes to the matching ``.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import platform
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import torch

from nasir import proxy_math
from nasir.data import ImageData, load_sample
from nasir.frontends.torch import lower
from nasir.frontends.torch.lowerings import ReLUConvBN
from nasir.frontends.torch.proxies import TORCH_PROXIES, ProxyWarning, score_network
from nasir.frontends.torch.proxies._common import make_batch
from nasir.proxy_ensembles import rank_ensemble, tenas_rank
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script (python -P): its sibling helpers
from proxy_rows import sample_indices  # noqa: E402

DEFAULT_PROXIES = ("naswot", "jacob_cov", "synflow", "synflow:bn=identity", "snip", "grasp", "fisher", "grad_norm",
                   "params", "flops", "meco")
TRUTH = {"c10valid_test": ("cifar10-valid", "test_acc"), "c10_test": ("cifar10", "test_acc"),
         "c100_test": ("cifar100", "test_acc"), "in16_test": ("imagenet16", "test_acc")}
PUBLISHED_C10VALID = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594, "grasp": 0.514, "fisher": 0.360}
PUBLISHED_C100 = {"synflow": 0.763, "jacob_cov": 0.704, "snip": 0.637, "grad_norm": 0.637, "grasp": 0.547, "fisher": 0.385}
NASLIB_COLUMN = {"naswot": "nwot", "jacob_cov": "jacov", "synflow": "synflow", "snip": "snip", "grasp": "grasp",
                 "fisher": "fisher", "grad_norm": "grad_norm", "params": "params", "flops": "flops"}
ENSEMBLES = {"rank(naswot+synflow)": ("naswot", "synflow"),
             "rank(naswot+synflow+meco+flops)": ("naswot", "synflow", "meco", "flops"),
             "rank(synflow+meco+zico+flops)": ("synflow", "meco", "zico", "flops"),
             "rank(naswot+synflow+meco+zico+flops)": ("naswot", "synflow", "meco", "zico", "flops")}
AZ_NAS = "AZ-NAS log-rank(az_expressivity+az_progressivity+az_trainability+flops)"
AZ_TERMS = ("az_expressivity", "az_progressivity", "az_trainability", "flops")
# sum of log(rank/n); the two extensions were declared before the 1,000-arch results were seen; the SWAP one
# (2026-11-30 evening) after SWAP's own rho on its first 153 cells, before any ensemble with it was computed
LOG_ENSEMBLES = {AZ_NAS: AZ_TERMS, "log-rank(AZ-NAS terms+meco)": (*AZ_TERMS, "meco"),
                 "log-rank(AZ-NAS terms+meco+naswot+synflow)": (*AZ_TERMS, "meco", "naswot", "synflow"),
                 "log-rank(AZ-NAS terms+meco+naswot+synflow+swap)": (*AZ_TERMS, "meco", "naswot", "synflow", "swap")}
TENAS = "TE-NAS rank(ntk_cond+linear_regions)"
# AZ-NAS (Lee & Ham, CVPR 2024; cvlab-yonsei/AZ-NAS NB201/tss_general.ipynb output, seed 1): all 15,625 cells,
# against the cifar10 ori-test accuracy (our c10_test column), not cifar10-valid.
PUBLISHED_C10 = {AZ_NAS: 0.913}
PUBLISHED_TAU_C10 = {AZ_NAS: 0.741}
FRESH_BATCH = 64  # zero-cost-nas nasbench2_pred.py --batch_size default, shared by all its measures


def parse_proxy(text: str) -> tuple[str, dict]:
    name, _, rest = text.partition(":")
    opts = dict(kv.split("=", 1) for kv in rest.split(",") if kv)
    return name, opts


def fresh_batch(data: ImageData, key: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch as zero-cost-nas draws one for each architecture (a new ``iter(train_loader)``:
    64 shuffled training images, random crop 32 with padding 4, horizontal flip), here from the
    shipped images, normalised, from ``default_rng(key)``. Keyed by ``[seed, index]`` a row does
    not depend on run order or ``--resume``; the proxies then use this batch as given."""
    batch = make_batch(data, FRESH_BATCH, np.random.default_rng(key), augment_images=True, device=torch.device("cpu"))
    return batch.x, batch.y


def cell_seed(seed: int, index: int) -> int:
    """The init seed of one cell under ``--fresh-init``: independent of run order and ``--resume``."""
    return int(np.random.default_rng([seed, index, 1]).integers(2**31))


def with_cell_conv_bias(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """zero-cost-nas builds its cell ``ReLUConvBN`` with ``Conv2d(..., bias=not affine)`` and cell
    BN ``affine=False``: the cell convs (edges ``e<i>_<j>``, not the reduction blocks) get a bias with
    PyTorch's default init, drawn from ``seed``. BN affine is left on: at init it is the identity."""
    gen = torch.Generator().manual_seed(seed)
    for name, module in model.named_modules():
        if isinstance(module, ReLUConvBN) and name.rsplit(".", 1)[-1].startswith("e"):
            conv = module.conv
            bound = 1 / math.sqrt(conv.weight[0].numel())
            conv.bias = torch.nn.Parameter(torch.empty(conv.out_channels).uniform_(-bound, bound, generator=gen))
    return model


def score_arch(index: int, proxies: list[str], data, seed: int, dataset: str, fresh: bool = False,
               fresh_init: bool = False, cell_bias: bool = False, device: str | torch.device = "cpu") -> dict:
    net = space.network(space.from_index(int(index)), dataset=dataset)
    if fresh:
        data = fresh_batch(data, [seed, int(index)])
    if fresh_init:  # the batch above is used as given: this seed changes only the weights (and the batch's order)
        seed = cell_seed(seed, int(index))
    if cell_bias:  # the proxies copy this module; the batches still come from ``seed``
        net = with_cell_conv_bias(lower(net, seed=seed), cell_seed(seed, int(index)) + 1)
    row = {"index": int(index), "arch_str": space.format(space.from_index(int(index)))}
    for text in proxies:
        group = text.split("+")  # "snip+grad_norm+fisher": one fused loss-gradient pass, timed together
        parsed = [parse_proxy(t) for t in group]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProxyWarning)
            values = score_network(net, [n for n, _ in parsed], data, seed=seed, device=device, fused=len(group) > 1,
                                   catch=True, options={n: o for n, o in parsed})
        ms = round(1000 * (time.perf_counter() - start), 2)
        for t, (n, _) in zip(group, parsed):
            row[t] = values[n]
            row[f"ms:{t}"] = ms if len(group) == 1 else round(ms / len(group), 2)
    return row


def expand(proxies: list[str]) -> list[str]:
    return [t for text in proxies for t in text.split("+")]


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open() as f:
        return [{k: (v if k == "arch_str" else float(v)) for k, v in r.items()} for r in csv.DictReader(f)]


SHARED_NASLIB = Path(__file__).resolve().parents[2] / "shared/data/nb201_zc/nb201_zc_naslib_cifar10.csv"
# NAS-Bench-Suite-Zero's proxy values the NB201 table ships (zc_<name>); NASLib's params/flops are only in its CSV
SHIPPED_ZC = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "plain", "snip", "synflow")


def naslib_scores(path: Path | None, bench: NB201Benchmark) -> dict[int, dict[str, float]]:
    """NASLib's stored CIFAR-10 proxy values per cell index: from its CSV (``--naslib``, else the team's shared copy),
    or, when neither is there, from the NB201 table nasir ships (every proxy column but NASLib's params and flops)."""
    source = path or (SHARED_NASLIB if SHARED_NASLIB.exists() else None)
    if source is not None:
        if not source.exists():
            raise SystemExit(f"--naslib {source}: no such file")
        with source.open() as f:
            return {int(r["index"]): {k: float(v) for k, v in r.items() if k not in ("index", "arch_str") and v}
                    for r in csv.DictReader(f)}
    print(f"NASLib CSV not found at {SHARED_NASLIB}: comparing with the shipped table's values (no params/flops rows)",
          file=sys.stderr)
    columns = {name: bench.column("cifar10", f"zc_{name}") for name in SHIPPED_ZC}
    return {i: {name: float(v[i]) for name, v in columns.items() if not np.isnan(v[i])} for i in range(len(columns["nwot"]))
            if not np.isnan(columns["nwot"][i])}


def summarize(rows: list[dict], proxies: list[str], proxies_arg: list[str], naslib: dict[int, dict[str, float]], bench: NB201Benchmark) -> dict:
    idx = [int(r["index"]) for r in rows]
    truth = {k: bench.column(*v)[idx] for k, v in TRUTH.items()}
    cols = {p: np.array([r[p] for r in rows], dtype=float) for p in proxies}
    for label, members in ENSEMBLES.items():
        if all(m in cols for m in members):
            cols[label] = proxy_math.rank_aggregate({m: cols[m] for m in members})
    for label, members in LOG_ENSEMBLES.items():
        if all(m in cols for m in members):
            cols[label] = rank_ensemble({m: cols[m] for m in members}, method="log")
    if "ntk_cond" in cols and "linear_regions" in cols:
        cols[TENAS] = tenas_rank(cols["ntk_cond"], cols["linear_regions"])
    out = {}
    for p, values in cols.items():
        name = parse_proxy(p)[0]
        entry = {f"rho_{k}": round(proxy_math.spearman(values, t), 4) for k, t in truth.items()}
        entry |= {f"tau_{k}": round(proxy_math.kendall(values, t), 4) for k, t in truth.items()}
        entry["published_rho_c10valid_test"] = PUBLISHED_C10VALID.get(name)
        entry["published_rho_c100_test"] = PUBLISHED_C100.get(name)
        entry["published_rho_c10_test"] = PUBLISHED_C10.get(name)
        entry["published_tau_c10_test"] = PUBLISHED_TAU_C10.get(name)
        entry["n_minus_inf"] = int(np.sum(~np.isfinite(values)))
        if p in proxies:
            ms = np.array([r[f"ms:{p}"] for r in rows])
            entry |= {"ms_per_arch_median": round(float(np.median(ms)), 1), "ms_per_arch_p90": round(float(np.percentile(ms, 90)), 1),
                      "fused_group": next((t for t in proxies_arg if p in t.split("+") and "+" in t), None)}
        col = NASLIB_COLUMN.get(name)
        overlap = [i for i, ix in enumerate(idx) if col and ix in naslib and col in naslib[ix]]
        if overlap:
            ours = values[overlap]
            theirs = np.array([naslib[idx[i]][col] for i in overlap])
            entry["rho_vs_naslib"] = round(proxy_math.spearman(ours, theirs), 4)
            entry["naslib_overlap"] = len(overlap)
            entry["rho_c10valid_on_overlap_ours"] = round(proxy_math.spearman(ours, truth["c10valid_test"][overlap]), 4)
            entry["rho_c10valid_on_overlap_naslib"] = round(proxy_math.spearman(theirs, truth["c10valid_test"][overlap]), 4)
        out[p] = entry
    return out


def print_table(summary: dict, n: int) -> None:
    print(f"\n{n} archs | rho/tau vs nb201v11_cifar10valid_test_acc | rho vs c10 / c100 / in16 test | ms/arch | rho vs NASLib (overlap)")
    for p, e in summary.items():
        pub, pub10 = e["published_rho_c10valid_test"], e["published_rho_c10_test"]
        c10 = f"{e['rho_c10_test']:+.3f}" + (f" tau {e['tau_c10_test']:+.3f} (pub {pub10}/{e['published_tau_c10_test']})" if pub10 else "")
        print(f"{p:34s} {e['rho_c10valid_test']:+.3f} {e['tau_c10valid_test']:+.3f} (pub {pub if pub is not None else '-':>5}) | "
              f"{c10} {e['rho_c100_test']:+.3f} {e['rho_in16_test']:+.3f} | "
              f"{e.get('ms_per_arch_median', float('nan')):8.1f} | {e.get('rho_vs_naslib', float('nan')):+.3f} ({e.get('naslib_overlap', 0)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dataset", default="cifar10", choices=["cifar10"])
    parser.add_argument("--proxies", nargs="+", default=list(DEFAULT_PROXIES))
    parser.add_argument("--naslib", type=Path, default=None,
                        help="NASLib's per-cell proxy CSV (default: the team's shared copy, else the shipped NB201 table's values)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--fresh-batch", action="store_true",
                        help=f"each architecture draws its own augmented batch of {FRESH_BATCH}, seeded by (seed, index), as zero-cost-nas does")
    parser.add_argument("--batch-seed", type=int, default=None,
                        help=f"one shared augmented batch of {FRESH_BATCH} drawn from this seed (weights still from --seed)")
    parser.add_argument("--fresh-init", action="store_true",
                        help="with --fresh-batch: each architecture's initial weights from its own seed (zero-cost-nas's protocol)")
    parser.add_argument("--cell-conv-bias", action="store_true",
                        help="cell convs carry a bias, as zero-cost-nas's NB201 network builds them")
    parser.add_argument("--tag", default="", help="suffix of the output files (several proxy sets on one sample)")
    parser.add_argument("--summarize-only", action="store_true", help="score nothing; summarise the rows already written")
    parser.add_argument("--also", type=Path, nargs="*", default=[],
                        help="per-arch CSVs of other proxy sets on the same sample, joined on index for the summary")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"proxies_nb201_{args.dataset}_n{args.sample}_s{args.seed}{'_' + args.tag if args.tag else ''}"
    csv_path = stem.with_suffix(".csv")
    rows = read_rows(csv_path) if args.resume or args.summarize_only else []
    if not (args.resume or args.summarize_only) and csv_path.exists():
        csv_path.unlink()
    done = {int(r["index"]) for r in rows}
    data = load_sample()
    names = expand(args.proxies)
    if args.fresh_batch and args.batch_seed is not None:
        parser.error("--fresh-batch and --batch-seed exclude each other")
    if args.fresh_init and not args.fresh_batch:
        parser.error("--fresh-init needs --fresh-batch (a per-cell seed would also redraw the shared batch)")
    if args.fresh_batch or args.batch_seed is not None:
        impls = [TORCH_PROXIES.get(parse_proxy(n)[0]) for n in names]
        too_big = [n for n, p in zip(names, impls) if "data" in p.spec.needs and p.batch_size > FRESH_BATCH]
        if too_big:
            parser.error(f"--fresh-batch/--batch-seed draw {FRESH_BATCH} images; {too_big} need more")
    if args.batch_seed is not None:
        data = fresh_batch(data, [args.batch_seed])
    fields = ["index", "arch_str", *names, *(f"ms:{p}" for p in names)]
    if not args.summarize_only:
        score_arch(int(sample_indices(1)[0]), args.proxies, data, args.seed, args.dataset, args.fresh_batch, args.fresh_init, args.cell_conv_bias)  # warm-up (imports, allocator)
    for k, index in enumerate([] if args.summarize_only else sample_indices(args.sample)):
        if int(index) in done:
            continue
        row = score_arch(int(index), args.proxies, data, args.seed, args.dataset, args.fresh_batch, args.fresh_init,
                         args.cell_conv_bias)
        new = not csv_path.exists()
        with csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            if new:
                writer.writeheader()
            writer.writerow(row)
        rows.append(row)
        print(f"[{k + 1}/{args.sample}] {index} " + " ".join(f"{p}={row[p]:.4g}" for p in names), flush=True)
    for extra in args.also:
        other = {int(r["index"]): r for r in read_rows(extra)}
        rows = [{**r, **other[int(r["index"])]} for r in rows if int(r["index"]) in other]
        names += [k for k in next(iter(other.values())) if k not in names and k not in ("index", "arch_str") and not k.startswith("ms:")]
    bench = NB201Benchmark.default()
    summary = summarize(rows, names, args.proxies, naslib_scores(args.naslib, bench), bench)
    data_note = "one batch per batch size, seed " + str(args.seed)
    if args.fresh_batch:
        data_note = f"a fresh augmented batch of {FRESH_BATCH} per architecture from default_rng([seed, index])"
        if args.fresh_init:
            data_note += ", initial weights per architecture from default_rng([seed, index, 1])"
    if args.cell_conv_bias:
        data_note += "; cell convs with a PyTorch-default bias (zero-cost-nas's NB201 cells)"
    elif args.batch_seed is not None:
        data_note = f"one shared augmented batch of {FRESH_BATCH} from default_rng([{args.batch_seed}])"
    meta = {"command": "python benchmarks/" + Path(__file__).name + f" --sample {args.sample} --seed {args.seed} --dataset {args.dataset} --proxies {' '.join(args.proxies)}" + (" --fresh-batch" if args.fresh_batch else "") + (" --fresh-init" if args.fresh_init else "") + (" --cell-conv-bias" if args.cell_conv_bias else "")
                  + (f" --batch-seed {args.batch_seed}" if args.batch_seed is not None else "") + (f" --tag {args.tag}" if args.tag else ""),
            "date": date.today().isoformat(), "machine": platform.processor() or platform.machine(), "threads": args.threads,
            "torch": torch.__version__, "numpy": np.__version__, "n_archs": len(rows),
            "sample": "first N of numpy.random.default_rng(0).choice(15625, 1000, replace=False)",
            "data": "nasir shipped CIFAR-10 sample (512 train images), " + data_note}
    json_path = stem.with_suffix(".json") if not args.also else stem.with_name(stem.name + "_joined.json")
    meta["joined"] = [str(p.name) for p in args.also]
    json_path.write_text(json.dumps({"meta": meta, "proxies": summary}, indent=1))
    print_table(summary, len(rows))


if __name__ == "__main__":
    main()
