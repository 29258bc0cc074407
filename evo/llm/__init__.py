"""LLM backends behind one protocol: ``LLMBackend.complete(LLMRequest) -> LLMResponse``."""
from evo.llm.base import LLMBackend, LLMRequest, LLMResponse, Message

__all__ = ["LLMBackend", "LLMRequest", "LLMResponse", "Message"]
