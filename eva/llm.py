"""Optional LLM fallback: when the grammar does not understand, ask a chat model.

Set `EVA_LLM=provider:model` (LangChain's `init_chat_model` names, e.g.
`openai:gpt-4o-mini`) to enable it; without it nothing is imported and no
one is contacted. The model is asked for one command as JSON in the shape
of the command language's pydantic models; an answer that does not validate
is refused (and logged), never guessed at.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from intents import Command

if TYPE_CHECKING:  # langchain takes half a second to import: only when an LLM is used
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger("eva.llm")

_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
_SCHEMA = {"title": "Command", "description": "One EVA command", **_COMMAND.json_schema()}
_SYSTEM = (
    "You turn an operator's sentence about sagas and actors into one command for EVA. "
    "Answer with one JSON object and nothing else, valid against this JSON schema:\n"
    + json.dumps(_COMMAND.json_schema())
    + '\nInclude only the slots the operator said. If nothing fits, answer {"intent": "unknown"}.'
)


class LLMUnavailableError(RuntimeError):
    """EVA_LLM names a model that cannot be loaded here."""


class LLMFallback:
    """Asks a LangChain chat model for a command the grammar could not read."""

    def __init__(self, model: BaseChatModel) -> None:
        self.model = model

    @classmethod
    def from_env(cls) -> LLMFallback | None:
        """The fallback `EVA_LLM` configures, or None when it is not set."""
        spec = os.environ.get("EVA_LLM", "").strip()
        if not spec:
            return None
        try:
            from langchain.chat_models import init_chat_model  # only when asked for
        except ImportError as exc:
            raise LLMUnavailableError(
                f"EVA_LLM={spec} is set but the langchain package is not installed: "
                "pip install langchain and the provider's package, or unset EVA_LLM"
            ) from exc
        return cls(init_chat_model(spec))

    async def command(self, text: str) -> Command | None:
        """The model's reading of `text`, validated; None if it has none or it is invalid."""
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = [SystemMessage(_SYSTEM), HumanMessage(text)]
        try:
            # Models that call tools fill the schema directly (structured output);
            # others answer in text, from which the JSON object is taken.
            structured = self.model.with_structured_output(_SCHEMA)
        except NotImplementedError:
            structured = None
        if structured is not None:
            raw = json.dumps(await structured.ainvoke(messages))
        else:
            content: Any = (await self.model.ainvoke(messages)).content
            raw = content if isinstance(content, str) else json.dumps(content)
        try:
            start, end = raw.index("{"), raw.rindex("}") + 1
            command = _COMMAND.validate_json(raw[start:end])
        except (ValueError, ValidationError) as exc:
            log.warning("refused the LLM's answer to %r: %s", text, str(exc)[:300])
            return None
        return None if command.intent == "unknown" else command
