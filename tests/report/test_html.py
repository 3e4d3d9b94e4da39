"""The HTML report: one valid, self-contained page with every picture inlined, read from a study file."""

from __future__ import annotations

import base64
import io
import shutil
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.image import imread

from nasir.errors import UnknownNameError
from nasir.objectives import TabularObjective
from nasir.report import load_cascades, load_study, write_report
from nasir.spaces.nb201 import space
from nasir.spaces.nb201_bench import NB201Benchmark
from nasir.strategies import make_strategy
from nasir.study import Study, StudyStorageError, rerank, rerank_name


class Page(HTMLParser):
    """Collects what the checks need, and that every opened element is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.rows = 0
        self.stack: list[str] = []
        self.meta: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        self.images += [attrs] if tag == "img" else []
        self.meta += [attrs] if tag == "meta" else []
        self.links += [v for k, v in attrs.items() if k in ("href", "src") and not v.startswith("data:")]
        self.rows += tag == "tr"
        if tag not in ("img", "meta", "br"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"</{tag}> closes {self.stack[-1:] or 'nothing'}"


def _parse(text: str) -> Page:
    page = Page()
    page.feed(text)
    page.close()
    assert not page.stack, f"unclosed elements {page.stack}"
    return page


def test_report_is_one_self_contained_page(study_file: Path, tmp_path: Path) -> None:
    out = write_report(study_file, tmp_path / "report.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    page = _parse(text)
    assert page.links == [] and "http://" not in text and "https://" not in text and "url(" not in text
    csp = next(m["content"] for m in page.meta if m.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "img-src data:" in csp
    alts = [img["alt"] for img in page.images]
    assert alts == ["best cell", "search curve", "proxy/params vs cifar10/test_acc", "Pareto front"]
    for img in page.images:
        head, _, payload = img["src"].partition(",")
        assert head == "data:image/png;base64"
        height, width, _ = imread(io.BytesIO(base64.b64decode(payload, validate=True))).shape
        assert width > 300 and height > 150
    assert page.rows >= 20 + 1 + 9  # trials + header + the identity and best-metrics tables
    assert "Best architecture (trial" in text and "|nor_conv" in text


def test_report_shows_the_cascades_stored_beside_the_search(study_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "cascade.db"
    search = Study.open(path, space, make_strategy("rea", space), TabularObjective(NB201Benchmark.default(), space), seed=0)
    search.optimize(budget_evals=20)
    costly = TabularObjective(NB201Benchmark.default(), space, dataset="cifar100", metric="test_acc", report=())
    pick = rerank(search, costly, 4).best()[1]
    search.storage.close()
    (stage,) = load_cascades(path, "default")
    assert stage.name == rerank_name("default", costly.name) and len(stage.trials) == 4
    assert load_study(path).name == "default"  # a search's cascades do not make its file ambiguous
    text = write_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert f"Cascade: {costly.name} on the search's best cells" in text
    assert f"pick: <code>{space.format(pick.arch)}</code>, the best by cifar100/test_acc of the search's 4 best cells (of the 4 it evaluated)" in text
    assert text.count('<tr class="COMPLETE best">') == 2 and page.images  # the pick in the cascade, the search's best
    assert load_cascades(study_file, "default") == []
    other = Study.open(path, space, make_strategy("random", space), TabularObjective(NB201Benchmark.default(), space), name="other")
    other.optimize(budget_evals=2)
    other.storage.close()
    with pytest.raises(StudyStorageError, match="name the one to read"):  # two searches: which one is the user's call
        load_study(path)


def test_report_names_the_pareto_metrics_it_is_given(study_file: Path, tmp_path: Path) -> None:
    write_report(study_file, tmp_path / "r.html", pareto=("params_m", "cifar10-valid/valid_acc"))
    with pytest.raises(KeyError, match="no metric 'nope'"):
        write_report(study_file, tmp_path / "r.html", pareto=("nope", "params_m"))


def test_load_study_reads_without_writing(study_file: Path, tmp_path: Path) -> None:
    before = study_file.read_bytes()
    record = load_study(study_file)
    assert (record.space, record.strategy, len(record.trials)) == ("nb201", "rea", 20)
    assert record.metrics[0] == record.primary == "cifar10-valid/valid_acc" and "proxy/params" in record.metrics
    assert record.best().metrics[record.primary] == max(t.metrics[record.primary] for t in record.trials)
    assert study_file.read_bytes() == before


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("not a database"), "not an SQLite database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit(), "another application"),
])
def test_load_study_refuses_what_is_not_a_study(tmp_path: Path, make, message: str) -> None:
    path = tmp_path / "x.db"
    make(path)
    with pytest.raises(StudyStorageError, match=message):
        load_study(path)
    assert path.exists() == (message != "does not exist")  # never created


def test_load_study_needs_a_name_when_a_file_holds_several(study_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    shutil.copy(study_file, path)
    study = Study.open(path, space, make_strategy("random", space), TabularObjective(NB201Benchmark.default(), space), name="second")
    study.optimize(budget_evals=3)
    study.storage.close()
    with pytest.raises(StudyStorageError, match=r"holds studies \['default', 'second'\]; name the one"):
        load_study(path)
    assert len(load_study(path, "second").trials) == 3
    with pytest.raises(StudyStorageError, match="has no study 'third'"):
        load_study(path, "third")


def test_a_stored_studys_pareto_front_is_the_live_studys(tmp_path: Path) -> None:
    objective = TabularObjective(NB201Benchmark.default(), space, report=(("cifar10", "test_acc"), ("cifar10", "params")))
    path = tmp_path / "mo.db"
    with Study.open(path, space, make_strategy("random", space), objective, seed=4) as live:
        live.optimize(budget_evals=60)
        expected = [t.number for t in live.pareto_front(["cifar10-valid/valid_acc", "cifar10/params"])]
    front = load_study(path).pareto(["cifar10-valid/valid_acc", "cifar10/params"])
    assert [t.number for t in front] == expected and len(expected) >= 3
    with pytest.raises(UnknownNameError, match="needs two or more metrics its trials hold"):
        load_study(path).pareto(["cifar10/params"])
