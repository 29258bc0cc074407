"""Shell completion (argcomplete): the shell asks through environment variables, evo answers."""
import os
import subprocess
import sys


def complete(line: str, tmp_path) -> list[str]:
    out = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
    subprocess.run([sys.executable, "-c", "import sys; from evo.cli.main import main; sys.exit(main())"], env=env,
                   capture_output=True, timeout=60)
    return [c.strip() for c in out.read_text().split("\n")] if out.exists() else []


def test_commands_and_options_complete(tmp_path):
    assert "optimize" in complete("evo opt", tmp_path)
    assert {"--strategy", "--max-calls"} <= set(c.strip() for c in complete("evo optimize --", tmp_path))
    assert {"iterative", "evolutionary", "hybrid"} <= set(c.strip() for c in complete("evo optimize --strategy ", tmp_path))
