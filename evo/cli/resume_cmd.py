"""``evo resume RUN_DIR``: continue a run (from ``evo optimize`` or ``evo compare``) from its checkpoint."""
from __future__ import annotations

from pathlib import Path

from evo.cli.console import make_console


def register(sub) -> None:
    p = sub.add_parser("resume", help="continue an interrupted run from its last checkpoint",
                       description="Continue a run killed at any point, with exactly the resolved config it "
                                   "recorded; with responses from the cache it ends as an uninterrupted run would, "
                                   "without duplicated MLflow steps.")
    p.add_argument("run_dir", type=Path, help="a run directory (holds config.json and checkpoint.json)")
    from evo.cli.argtypes import add_threads_flag

    add_threads_flag(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from evo.api import resume
    from evo.cli.optimize_cmd import exit_if_every_call_failed, print_summary
    from evo.cli.progress import RunProgress
    from evo.run.run_dir import RunDir

    console = make_console()
    rd = RunDir.existing(args.run_dir)
    args.run_dir_in_use = rd.path  # named by the interrupt message
    if (rd.path / "checkpoint.json").exists():
        done = rd.read_json("checkpoint.json").get("steps_done", 0)
        console.print(f"[bold]evo resume[/] · {rd.path} · continuing after step {done - 1}")
    with RunProgress(console) as progress:
        progress.start(rd.path.name, None)
        result = resume(rd.path, on_step=progress.on_step, on_call=progress.on_call)
        progress.finish()
    print_summary(console, result, rd.path)
    return exit_if_every_call_failed(result)
