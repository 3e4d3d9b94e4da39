"""The ``nasir`` command line: the only place where flags become objects.

Exit codes: 0 done; 2 bad input (unknown name, unreadable file, a study of another search, a bad architecture, a
missing extra), printed as one ``error:`` line; 3 a search that ended with no completed trial or no cascade pick; 130
interrupted (Ctrl-C); 1 an internal error, also one line (``--debug`` anywhere on the command line prints the
traceback above it, same exit code). Results go to stdout (a table, or JSON with ``--json``); progress bars and notes
go to stderr (none with ``--quiet``). torch, onnx, onnxruntime, TensorFlow and matplotlib are imported only by the
commands that use them; TensorFlow's start-up logs are silenced and its oneDNN re-ordering (which changes round-off
from run to run) is off, unless the environment already says otherwise.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from rich.console import Console

from nasir.cli import bench, deploy, search, spaces  # noqa: F401  (registers the commands)
from nasir.cli._app import app
from nasir.cli.objective import SearchObjective
from nasir.errors import NasirError

__all__ = ["app", "main", "SearchObjective"]

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT


def main() -> None:
    """Entry point: runs the app; turns every failure into one readable line and an exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    debug = "--debug" in sys.argv[1:]
    if debug:
        sys.argv.remove("--debug")
    try:
        code = app(standalone_mode=False)
    except NasirError as err:
        if debug:
            traceback.print_exc()
        _fail("error: ", str(err), 2)
    except typer.Abort:
        _interrupted()
    except Exception as err:
        if debug:
            traceback.print_exc()
        if hasattr(err, "format_message") and hasattr(err, "exit_code"):  # click's usage errors (typer may vendor click)
            if not err.format_message():  # no arguments: the help was printed
                raise SystemExit(err.exit_code) from None
            _fail("error: ", err.format_message(), err.exit_code)
        _fail("internal error: ", f"{type(err).__name__}: {err}" + ("" if debug else " (run with --debug for the traceback)"), 1)
    if code == INTERRUPTED:  # typer turns a KeyboardInterrupt (Ctrl-C) inside a command into this code
        _interrupted()
    raise SystemExit(code if isinstance(code, int) else 0)


def _interrupted() -> None:
    _fail("interrupted: ", "a study keeps every finished trial; run the same command to resume", INTERRUPTED)


def _fail(prefix: str, message: str, code: int) -> None:
    """One line on stderr (never wrapped, never read as markup), then exit with ``code``."""
    from rich.text import Text

    Console(stderr=True).print(Text.assemble((prefix, "red"), " ".join(message.split())), soft_wrap=True)
    raise SystemExit(code) from None
