"""report.html: self-contained, with the summary, every strategy's winning prompt with its diff and
lineage, the plots, and the per-example table."""
import re

from rich.console import Console

from evo.cli.progress import RunProgress

from experiments.runner import run_experiment
from tests.helpers import keyword_task_model, pure_optimizer, write_add_suite, write_experiment


def test_compare_writes_a_self_contained_report(tmp_path):
    suite = write_add_suite(tmp_path, 8, 4, 6)
    cfg = write_experiment(tmp_path / "e.yaml", "html", suite, max_calls=150)
    console_file = tmp_path / "c.txt"
    report = run_experiment(cfg, progress=RunProgress(Console(file=open(console_file, "w"))), env={},
                            backends={"task": keyword_task_model(), "optimizer": pure_optimizer()})
    page = (tmp_path / "results" / "html" / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing fetched from the network
    assert page.count("<img ") >= 5 and "data:image/png;base64," in page
    for row in report.rows:
        assert f"<b>{row['test_score']:.3f}</b>" in page  # the summary table
    for cell in report.cells:
        if cell.strategy != "baseline":
            assert cell.result.best_genome.id in page and "lineage (" in page
            for word in cell.result.best_genome.instruction.split():
                assert word.replace("'", "&#x27;") in page  # the winning prompt in full
    examples = re.findall(r"<tr data-disagree='[01]'>", page)
    assert len(examples) == 6  # one row per held-out example
    assert "filterRows()" in page and 'id="examples"' in page
