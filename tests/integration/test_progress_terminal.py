"""The live progress on a real terminal (a pty) of 80 columns: every row fits, bar, best and ETA stay
visible, a finished row's clock stops."""
import os
import pty
import re
import select
import subprocess
import sys

from rich.console import Console

from evo.cli.progress import RunProgress

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
ROW_BREAK = re.compile(r"\r|\n|\x1b\[2K|\x1b\[\d*A")  # a redraw: carriage return, erase line, cursor up


def run_in_pty(argv, cwd, columns=80):
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns), "LINES": "30", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def test_an_80_column_terminal_keeps_bar_best_and_eta(add_suite, tmp_path):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("strategy: {kind: evolutionary, population_size: 4, keep: 2, generations: 3, target_score: null}\n"
                   "budget: {max_calls: 80}\ntask_model: {kind: scripted, default: '3', latency_s: 0.01}\n"
                   "optimizer: {kind: scripted}\ncache: false\n")
    code, out = run_in_pty([sys.executable, "-c", "import sys; from evo.cli.main import main; sys.exit(main())",
                            "optimize", str(add_suite), "--config", str(cfg), "--run-dir", str(tmp_path / "run")],
                           cwd=tmp_path)
    assert code == 0, out
    lines = [ANSI.sub("", row) for row in ROW_BREAK.split(out)]
    rows = [line for line in lines if "add/evolutionary" in line and "ETA" in line]
    assert rows, out
    assert all(len(line) <= 80 for line in rows), [len(line) for line in rows]
    last = rows[-1]
    assert "done" in last and "tr " in last and "va " in last and "━" in last and re.search(r"\b\d+/80\b", last)


def test_a_finished_row_stops_its_clock():
    console = Console(file=open(os.devnull, "w"), force_terminal=True, width=80)
    with RunProgress(console) as progress:
        bar = progress.start("suite/strategy s0", 100)
        bar.finish()
        task = progress._progress.tasks[0]
        assert task.stop_time is not None and task.finished
        assert task.elapsed == task.stop_time - task.start_time  # frozen: no longer counts with the clock
