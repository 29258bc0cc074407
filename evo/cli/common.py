"""Options shared by several commands: which backend (and its cache), and which prompt genome."""
from __future__ import annotations

from evo.cli.argtypes import non_negative_int, positive_int

import json
import os
from pathlib import Path

from pydantic import ValidationError

from evo.errors import ConfigError, pydantic_error_to_config_error
from evo.genome import PromptGenome
from evo.run.session import check_demo_ids, seed_genome_of, with_default_demos
from evo.llm.config import BACKENDS, parse_backend_config
from evo.run.resolve import DEFAULT_CACHE
from evo.run.resolve import default_cache_path as resolve_default_cache
from evo.files import read_json, read_text, read_yaml
from evo.tasks.suite import TaskSuite


def default_cache_path() -> Path:
    return resolve_default_cache(os.environ)


def add_backend_args(p) -> None:
    g = p.add_argument_group("task model")
    g.add_argument("--backend", choices=[k for k in BACKENDS if BACKENDS[k].config.cli_choice], default="local",
                   help="model backend (default: local, the embedded SmolLM2-135M-Instruct)")
    g.add_argument("--model", help="GGUF path for local; model name for anthropic/openai_compatible")
    g.add_argument("--base-url", help="server URL for anthropic (Messages API) or openai_compatible")
    g.add_argument("--llm-config", type=Path, help="YAML file with a backend config (overrides the above)")
    g.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    g.add_argument("--cache", type=Path, default=None,
                   help=f"response cache file (default: $EVO_CACHE or {DEFAULT_CACHE})")


def backend_config_from_args(args):
    """The task model's config from ``--llm-config FILE`` or ``--backend/--model/--base-url``."""
    if args.llm_config:
        return backend_config_file(args.llm_config)
    return parse_backend_config(backend_flags(args.backend, args.model, args.base_url), "command line")


def backend_config_file(path):
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, "must be a mapping with 'kind'")
    return parse_backend_config(raw, path)


def _cache_path(args) -> str | None:
    return None if args.no_cache else str(args.cache or default_cache_path())


def backend_from_args(args):
    from evo.evaluation.backend_stack import backend_stack

    return backend_stack(backend_config_from_args(args), cache_path=_cache_path(args))


def judge_from_args(args, task_backend):
    """The model of a suite's ``llm_judge`` checks: ``--judge-config FILE``, else the optimizer's default
    (Claude Opus when ANTHROPIC_API_KEY is set, else the embedded model); ``task_backend`` itself when
    that is the task model's config (one loaded model serves both)."""
    import os

    from evo.evaluation.backend_stack import backend_stack
    from evo.run.resolve import default_optimizer_config

    path = getattr(args, "judge_config", None)
    cfg = backend_config_file(path) if path else default_optimizer_config(os.environ)
    if cfg == backend_config_from_args(args):
        return task_backend
    return backend_stack(cfg, cache_path=_cache_path(args))


def add_judge_arg(p) -> None:
    p.add_argument("--judge-config", metavar="FILE", help="backend YAML of the llm_judge checks' model (default: "
                   "Claude Opus when ANTHROPIC_API_KEY is set, else the embedded model)")


def backend_flags(kind: str, model: str | None, base_url: str | None) -> dict:
    """``--backend/--model/--base-url`` as a backend config mapping, by the kind's config fields (a
    kind with ``model_path`` takes ``--model`` as a file; one that needs fields not given is refused)."""
    fields = BACKENDS[kind].config.model_fields
    data: dict = {"kind": kind}
    if model:
        data["model_path" if "model_path" in fields else "model"] = model
    if base_url:
        if "base_url" not in fields:
            raise ConfigError("--base-url", f"the {kind} backend takes no base URL")
        data["base_url"] = base_url
    flags = {"base_url": "--base-url", "model": "--model", "model_path": "--model"}
    required = [field for field in flags if field in fields and fields[field].is_required()]
    if any(field not in data for field in required):
        raise ConfigError(f"--backend {kind}", "needs " + " and ".join(flags[field] for field in required))
    return data


def add_genome_args(p) -> None:
    g = p.add_argument_group("prompt (default: the suite's seed prompt)")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--prompt", help="instruction text")
    src.add_argument("--prompt-file", type=Path,
                     help="a text file (the instruction) or a .yaml/.json genome (instruction, system, "
                          "placement, temperature, max_tokens, chain_of_thought, few_shot_k, demo_ids)")
    g.add_argument("--system", help="system text")
    g.add_argument("--placement", choices=["user", "system"], help="where the instruction goes")
    g.add_argument("--temperature", type=float, help="sampling temperature (default: the prompt's, 0.0 if unset)")
    g.add_argument("--max-tokens", type=positive_int, help="output token cap (default: the prompt's, 32 if unset)")
    g.add_argument("--cot", action="store_true", default=None, help="chain-of-thought on")
    g.add_argument("--few-shot", type=non_negative_int, metavar="K", help="show K training examples per task as chat turns")


def load_genome_file(path: Path) -> PromptGenome:
    if not path.is_file():
        raise ConfigError(path, "prompt file does not exist")
    if path.suffix.lower() in (".yaml", ".yml", ".json"):
        if path.suffix.lower() == ".json":
            raw = read_json(path)
        else:
            raw = read_yaml(path)
        if not isinstance(raw, dict):
            raise ConfigError(path, "a genome file must be a mapping (instruction, temperature, ...)")
        raw = {k: v for k, v in raw.items() if k not in ("id", "schema_version")}
        try:
            return PromptGenome(**raw)
        except ValidationError as exc:
            raise pydantic_error_to_config_error(path, exc) from None
    return PromptGenome(instruction=read_text(path).strip())


def genome_from_args(args, suite: TaskSuite) -> PromptGenome:
    genome = seed_genome_of(suite)
    if args.prompt is not None:
        genome = genome.replace(instruction=args.prompt)
    elif args.prompt_file is not None:
        genome = load_genome_file(args.prompt_file)
        check_demo_ids(genome, suite, args.prompt_file)
    changes = {}
    for arg, field in (("system", "system"), ("placement", "placement"), ("temperature", "temperature"),
                       ("max_tokens", "max_tokens"), ("cot", "chain_of_thought")):
        if getattr(args, arg) is not None:
            changes[field] = getattr(args, arg)
    if args.few_shot is not None:
        changes["few_shot_k"] = args.few_shot
    if changes:
        try:
            genome = genome.replace(**changes)
        except ValidationError as exc:
            raise pydantic_error_to_config_error("command line", exc) from None
    return with_default_demos(genome, suite)
