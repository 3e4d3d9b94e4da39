"""A study run as its own process (killed and resumed by tests/study/test_resume.py).

Usage: python _study_script.py DB BUDGET PAUSE_SECONDS EVAL_LOG [WORKERS]   (WORKERS: evaluate on a process pool)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _objectives import Logged  # noqa: E402

from nasir.executors import ProcessPoolExecutor  # noqa: E402
from nasir.spaces.nb201 import space  # noqa: E402
from nasir.strategies import make_strategy  # noqa: E402
from nasir.study import Study  # noqa: E402

if __name__ == "__main__":
    db, budget, pause, log = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    executor = ProcessPoolExecutor(int(sys.argv[5])) if len(sys.argv) > 5 else None
    study = Study.open(db, space, make_strategy("rea", space), Logged(log, pause), seed=7, executor=executor)
    try:
        study.optimize(budget_evals=budget)
    except KeyboardInterrupt:
        print("interrupted", len(study))
        sys.exit(130)
    print("done", len(study))
