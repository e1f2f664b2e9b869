"""LangChain tools: one `StructuredTool` per intent, so an LLM agent can drive EVA.

Each tool's argument schema is its intent's pydantic model, and each call
goes through the assistant like a typed command: references are resolved,
destructive commands wait for confirmation, and every executed command is
in the decision log.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import StructuredTool

from eva.assistant import Assistant
from intents import COMMANDS


def build_tools(assistant: Assistant) -> list[StructuredTool]:
    """A tool per intent, bound to `assistant`."""
    tools = []
    for model in COMMANDS:
        intent = model.model_fields["intent"].default

        async def call(_model: Any = model, **slots: Any) -> str:
            command = _model(**{k: v for k, v in slots.items() if v is not None})
            reply = await assistant.run_command(command)
            return reply.text

        doc = (model.__doc__ or "").strip() or intent.replace("_", " ")
        tools.append(
            StructuredTool.from_function(
                coroutine=call,
                name=intent,
                description=doc,
                args_schema=model,
            )
        )
    return tools
