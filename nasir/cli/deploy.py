"""``nasir export`` and ``nasir latency``: ONNX files and runtime timings (onnxruntime, torch, TFLite) of a searched architecture."""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from nasir.cli._app import (
    ArchArg, JsonOpt, QuietOpt, SeedOpt, StudyOpt, StudySpaceOpt, _echo_json, _export_network, _latency_line, _measure,
    _names, _nb201_bench, _need, _shown, _target, app, check_output, console, load_study_of_space, notes, writing,
)
from nasir.ir import Arch
from nasir.latency import DEFAULT_RUNTIME
from nasir.space import SearchSpace

PickNameOpt = Annotated[Optional[str], typer.Option(help=(
    "Study name (default: the file's only search, or the pick of its cascade when nasir search --rerank ran)."))]


# ---------------------------------------------------------------------- export and latency
@app.command("export")
def export_cmd(
    arch: ArchArg = None,
    study: StudyOpt = None,
    name: PickNameOpt = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help=(
        "ONNX file to write (default model.onnx); with --top or --pareto, the folder to write into (default exported)."),
        show_default=False)] = None,
    top: Annotated[Optional[int], typer.Option(min=1, help=(
        "Export the study's K best cells (by its optimised metric, one file per cell, best first)."))] = None,
    pareto: Annotated[Optional[str], typer.Option(help=(
        "Export the cells of the study's Pareto front over these metrics, e.g. cifar10-valid/valid_acc,latency_ms."))] = None,
    space: StudySpaceOpt = None,
    cell: Annotated[bool, typer.Option("--cell", help="Export the bare cell instead of the whole network.")] = False,
    input_shape: Annotated[str, typer.Option(help=(
        "Per-sample input shape C,H,W of a bare --cell; one per input, ';'-separated, for a cell of several inputs "
        "(a DARTS cell: 16,32,32;16,32,32)."))] = "16,32,32",
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Export an architecture (or a study's best, K best or Pareto front) to ONNX, built straight from the IR (random weights).

    Several cells go to one folder as trial-N.onnx, with manifest.json listing each file's trial, architecture and metrics.

    Example: nasir export --study nasir-study.db -o best.onnx
    """
    _need("nasir.backends.onnx", "onnx", "ONNX export")
    shapes = _cell_shapes(input_shape) if cell else None
    if top is not None or pareto is not None:
        if arch is not None:
            raise typer.BadParameter("--top and --pareto choose cells of --study; give no ARCH", param_hint="--top")
        _export_many(study, name, space, top, pareto, out or Path("exported"), shapes, seed, as_json)
        return
    out = out or Path("model.onnx")
    check_output(out, "--out")
    sp, arch_, ident = _target(arch, study, name, space)
    info = {**_export_one(sp, arch_, out, shapes, seed), **ident}
    if as_json:
        _echo_json(info)
        return
    console.print(f"wrote {out} ({info['bytes'] / 1e6:.2f} MB{', bare cell' if cell else ''}, random weights seed {seed}): "
                  f"{_shown(ident)}", soft_wrap=True)


def _cell_shapes(text: str) -> list[tuple[int, ...]]:
    """``--input-shape`` read as one C,H,W per input."""
    try:
        shapes = [tuple(int(v) for v in one.split(",")) for one in text.split(";")]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not C,H,W (three integers; ';' between inputs)", param_hint="--input-shape") from None
    if min(min(shape) for shape in shapes) < 1:
        raise typer.BadParameter(f"{text!r}: sizes must be positive", param_hint="--input-shape")
    return shapes


def _export_one(sp: SearchSpace, arch: Arch, out: Path, shapes: list[tuple[int, ...]] | None, seed: int) -> dict[str, Any]:
    """Writes one ONNX file: the whole network, or the bare cell when ``shapes`` gives its inputs."""
    if shapes is None:
        return _export_network(sp.network(arch), out, seed)
    backend = _need("nasir.backends.onnx", "onnx", "ONNX export")
    model = backend.export(arch, input_shapes=shapes[0] if len(shapes) == 1 else shapes, seed=seed)
    with writing(out, "--out"):
        _need("onnx", "onnx", "ONNX export").save(model, str(out))
    return {"path": str(out), "bytes": out.stat().st_size,
            "input_shape": [list(shape) for shape in shapes] if len(shapes) > 1 else list(shapes[0])}


def _export_many(study: Path | None, name: str | None, space: str | None, top: int | None, pareto: str | None, folder: Path,
                 shapes: list[tuple[int, ...]] | None, seed: int, as_json: bool) -> None:
    """``--top K`` / ``--pareto X,Y``: one file per chosen trial in ``folder``, and manifest.json beside them."""
    from nasir.report.study import registered_space
    from nasir.study import StudyMismatchError

    if study is None:
        raise typer.BadParameter("--top and --pareto choose cells of a study: give --study STUDY.db", param_hint="--study")
    if top is not None and pareto is not None:
        raise typer.BadParameter("give one of --top and --pareto", param_hint="--pareto")
    if folder.exists() and not folder.is_dir():
        raise typer.BadParameter(f"{str(folder)!r} is a file; with --top or --pareto, --out names a folder", param_hint="--out")
    record = load_study_of_space(study, name, space)
    chosen = record.ranked()[:top] if top is not None else record.pareto(_names(pareto or "", "--pareto"))
    if not chosen:
        raise StudyMismatchError(f"study {record.name!r} in {str(study)!r} has no completed trial to export")
    sp = registered_space(record.space)
    rows = []
    for trial in chosen:
        info = _export_one(sp, trial.arch, folder / f"trial-{trial.number}.onnx", shapes, seed)
        metrics = {k: v for k, v in trial.metrics.items() if v is not None and math.isfinite(v)}  # strict JSON
        rows.append({"trial": trial.number, "arch": sp.format(trial.arch), "metrics": metrics, **info})
    manifest = folder / "manifest.json"
    with writing(manifest, "--out"):
        manifest.write_text(json.dumps({"study": str(study), "name": record.name, "seed": seed,
                                        "chosen": f"top {top}" if top is not None else f"pareto {pareto}", "files": rows},
                                       indent=1, allow_nan=False))
    if as_json:
        _echo_json(rows)
        return
    console.print(f"wrote {len(rows)} ONNX files and manifest.json to {folder} ({'the ' + str(top) + ' best' if top else 'the Pareto front'}"
                  f" of study {record.name!r}, random weights seed {seed})", soft_wrap=True)


HW_DEVICES = ("edgegpu", "raspi4", "edgetpu", "pixel3", "eyeriss", "fpga")
MEASURING = ("runtime", "provider", "device", "threads", "batch", "warmup", "repeats", "runs")  # options --predict has no use for


def _given(ctx: typer.Context, option: str) -> bool:
    """Whether ``option`` came from the command line (by name: typer may bring its own copy of click's enum)."""
    source = ctx.get_parameter_source(option)
    return source is not None and source.name == "COMMANDLINE"


@app.command()
def latency(
    ctx: typer.Context,
    arch: ArchArg = None,
    study: StudyOpt = None,
    name: PickNameOpt = None,
    space: StudySpaceOpt = None,
    runtime: Annotated[str, typer.Option(help="Runtime that times it: onnxruntime, torch or tflite.")] = DEFAULT_RUNTIME,
    provider: Annotated[Optional[str], typer.Option(help="onnxruntime execution provider: cpu (default), cuda or tensorrt.")] = None,
    device: Annotated[Optional[str], typer.Option(help="torch device: cpu (default), cuda or cuda:<i>.")] = None,
    threads: Annotated[int, typer.Option(min=1, help="Intra-op threads of the runtime.")] = 1,
    batch: Annotated[int, typer.Option(min=1, help="Batch size.")] = 1,
    warmup: Annotated[int, typer.Option(min=0, help="Untimed calls per session.")] = 10,
    repeats: Annotated[int, typer.Option(min=1, help="Timed calls per session.")] = 50,
    runs: Annotated[int, typer.Option(min=1, help="Independent sessions.")] = 3,
    predict: Annotated[Optional[str], typer.Option(help=(
        "Predict instead of measuring: an HW-NAS-Bench device (edgegpu, raspi4, edgetpu, pixel3, eyeriss, fpga; NB201) "
        "or a LatencyTable JSON file."))] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure an architecture's latency (median, p90, CV) on onnxruntime CPU or another runtime, or predict it.

    ARCH may also be an ONNX file, or a folder of them (what export --top/--pareto writes, e.g. copied to the target
    device): each file is timed on onnxruntime.

    Example: nasir latency --threads 1 --batch 1 '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'
    Other runtimes: --runtime torch --device cuda, --runtime tflite.
    """
    measuring = [o for o in MEASURING if _given(ctx, o)]
    if predict is not None and measuring:  # they would be ignored
        raise typer.BadParameter(f"--predict predicts; {', '.join('--' + o for o in measuring)} set(s) a measurement",
                                 param_hint="--predict")
    if arch is not None and (arch.endswith(".onnx") or _is_folder(arch)):
        others = [f"--{o}" for o, v in (("study", study), ("name", name), ("space", space), ("predict", predict)) if v is not None]
        if others or runtime != DEFAULT_RUNTIME:
            raise typer.BadParameter(f"an ONNX file is timed on onnxruntime as it is; drop {', '.join(others) or '--runtime'}",
                                     param_hint=(others or ["--runtime"])[0])
        options = {"provider": provider} if provider is not None else {}
        timing = {"threads": threads, "batch": batch, "warmup": warmup, "repeats": repeats, "runs": runs}
        _time_onnx_files(Path(arch), timing, options, as_json, quiet)
        return
    sp, cell, ident = _target(arch, study, name, space)
    network = sp.network(cell)
    if predict is not None:
        result = {**ident, **_predict(sp, cell, network, predict)}
        line = f"predicted {result['predicted_ms']:.3f} ms on {result['device']}: {_shown(ident)}"
    else:
        options = {k: v for k, v in (("provider", provider), ("device", device)) if v is not None}
        timing = {"threads": threads, "batch": batch, "warmup": warmup, "repeats": repeats, "runs": runs}
        with notes.status("measuring", spinner="dots") if not quiet else nullcontext():
            result = {**ident, **_measure(network, runtime=runtime, **timing, **options)}
        where = f"{runtime} ({result['device']}) " if runtime != DEFAULT_RUNTIME or options else ""
        line = f"{where}{_latency_line(result)}: {_shown(ident)}"
    if as_json:
        _echo_json(result)
    else:
        console.print(line, soft_wrap=True)


def _is_folder(text: str) -> bool:
    """Whether ARCH names an existing folder (an architecture string or IR JSON can be too long to be a path)."""
    try:
        return Path(text).is_dir()
    except OSError:
        return False


def _time_onnx_files(path: Path, timing: dict[str, int], options: dict[str, str], as_json: bool, quiet: bool) -> None:
    """Times an ONNX file, or every ``*.onnx`` of a folder (named after its manifest's trials when it has one)."""
    onnx = _need("onnx", "onnx", "timing ONNX files")
    files = sorted(path.glob("*.onnx"), key=lambda f: (len(f.name), f.name)) if path.is_dir() else [path]
    if path.is_dir() and not files:
        raise typer.BadParameter(f"folder {str(path)!r} holds no .onnx file", param_hint="arch")
    if not files[0].is_file():
        raise typer.BadParameter(f"ONNX file {str(path)!r} does not exist", param_hint="arch")
    known = _manifest_rows(path / "manifest.json" if path.is_dir() else path.with_name("manifest.json"), quiet)
    rows = []
    for file in files:
        try:
            model = onnx.load(str(file))
        except Exception as err:  # noqa: BLE001 - onnx raises protobuf's DecodeError and others for a bad file
            raise typer.BadParameter(f"{str(file)!r} is not an ONNX model ({type(err).__name__}: {err})", param_hint="arch") from None
        with notes.status(f"measuring {file.name}", spinner="dots") if not quiet else nullcontext():
            result = _measure(model, runtime=DEFAULT_RUNTIME, **timing, **options)
        row = {"file": str(file), **{k: known[file.name][k] for k in ("trial", "arch") if file.name in known}, **result}
        rows.append(row)
        if not as_json:
            console.print(f"{_latency_line(row)}: {file.name}" + (f" (trial {row['trial']}: {row['arch']})" if "trial" in row else ""),
                          soft_wrap=True)
    if as_json:
        _echo_json(rows if path.is_dir() else rows[0])


def _manifest_rows(manifest: Path, quiet: bool) -> dict[str, dict[str, Any]]:
    """File name -> row of the manifest ``nasir export --top/--pareto`` wrote beside its files; another program's
    manifest.json (or a damaged one) only names nothing, with a note, and the files are timed all the same."""
    if not manifest.is_file():
        return {}
    try:
        rows = json.loads(manifest.read_text())["files"]
        return {Path(row["path"]).name: row for row in rows}
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        if not quiet:
            notes.print(f"note: {manifest} is not a manifest nasir export wrote ({type(err).__name__}: {err}); timing the "
                        f"files without trial names", soft_wrap=True)
        return {}


def _predict(space: SearchSpace, cell: Arch, network: Any, how: str) -> dict[str, Any]:
    """A latency lookup: HW-NAS-Bench's measurement on a device (NB201), or an op-level LatencyTable."""
    if how in HW_DEVICES:
        if space.name != "nb201":
            raise typer.BadParameter(f"HW-NAS-Bench latencies exist for nb201 cells only, not {space.name!r}", param_hint="--predict")
        ms = _nb201_bench().query(cell, "cifar10", f"{how}_latency")
        if math.isnan(ms):
            raise typer.BadParameter(f"HW-NAS-Bench has no {how} latency for this cell: it did not pass the Edge TPU compiler",
                                     param_hint="--predict")
        return {"predicted_ms": ms, "device": f"{how} (HW-NAS-Bench, CIFAR-10)"}
    path = Path(how)
    if not path.is_file():
        raise typer.BadParameter(f"{how!r} is neither an HW-NAS-Bench device ({', '.join(HW_DEVICES)}) nor a LatencyTable file",
                                 param_hint="--predict")
    _need("onnx", "onnx", "latency prediction")
    from nasir.backends.latency import LatencyTable

    try:
        table = LatencyTable.load(path)
    except (ValueError, KeyError, TypeError) as err:
        raise typer.BadParameter(f"{how!r} is not a LatencyTable JSON file ({type(err).__name__}: {err})", param_hint="--predict") from None
    missing, device = table.missing(network), table.device_.get("gpu") or table.device_.get("cpu")
    if missing and not table.built_here():
        raise typer.BadParameter(f"{len(missing)} op(s) of this network are not in {how!r}, which was built on {device}, not "
                                 "this machine; build the table there with this network, or measure here without --predict",
                                 param_hint="--predict")
    if missing:  # this machine is the table's device: time the missing ops as the table's own were
        notes.print(f"timing {len(missing)} op(s) missing from {how!r} on this machine, the table's device", style="dim")
    return {"predicted_ms": float(table.build([network]).predict(network)), "device": f"{device} (table {how})"}
