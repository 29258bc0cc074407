"""A plain-text chat transcript for local models that are pretrained only (no chat tuning).

Such a model does not know a chat template's turn markers: it never emits an end-of-turn token,
so a chat-formatted reply runs on until ``max_tokens`` ("801Sheep\\npayments\\n…"). A transcript in
plain words instead ends each reply the way pretraining text does, by starting the next turn:
generation stops at ``TURN_STOP``. Pure text in, text out; ``evo.llm.local`` registers it with
llama-cpp-python as the chat format ``FORMAT_NAME``.
"""
from __future__ import annotations

FORMAT_NAME = "evo-transcript"
ROLE_LABELS = {"user": "User", "assistant": "Assistant"}
TURN_STOP = "\nUser:"


def transcript_prompt(messages: list[dict]) -> str:
    """``messages`` (role/content dicts; a system message first at most) as a transcript ending in an
    open ``Assistant:`` turn: ``{system}\\n\\nUser: …\\nAssistant: …\\nUser: …\\nAssistant:``."""
    parts: list[str] = []
    for message in messages:
        role, content = message["role"], str(message.get("content") or "")
        if role == "system":
            parts.append(f"{content}\n\n")
            continue
        if role not in ROLE_LABELS:
            raise ValueError(f"transcript format: unknown role {role!r}")
        parts.append(f"{ROLE_LABELS[role]}: {content}\n")
    return "".join(parts) + "Assistant:"


def transcript_reply(text: str) -> str:
    """A completion of :func:`transcript_prompt` as the reply (the space after ``Assistant:`` and
    any trailing blank lines removed)."""
    return text.strip()
