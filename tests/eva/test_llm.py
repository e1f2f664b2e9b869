"""The optional LLM fallback, wired to LangChain's fake chat model."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from eva import Assistant
from eva.llm import LLMFallback
from runtime import Runtime


async def test_without_eva_llm_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVA_LLM", raising=False)
    assert LLMFallback.from_env() is None


async def test_a_sentence_the_grammar_misses_is_read_by_the_model(runtime: Runtime) -> None:
    model = FakeListChatModel(responses=['{"intent": "list_sagas", "status": "completed"}'])
    eva = Assistant(runtime, llm=LLMFallback(model))
    saga = await runtime.start_saga("order", "acme")
    await runtime.wait_for([saga])
    reply = await eva.handle("gimme the ones that went through fine")
    assert reply.intent == "list_sagas"
    assert reply.text == "1 completed saga: 1 completed."


async def test_an_answer_that_does_not_validate_is_refused_and_logged(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    model = FakeListChatModel(responses=['{"intent": "launch_missiles", "target": "moon"}'])
    eva = Assistant(runtime, llm=LLMFallback(model))
    with caplog.at_level(logging.WARNING, logger="eva.llm"):
        reply = await eva.handle("do the thing with the stuff")
    assert reply.intent == "unknown"
    assert "refused the LLM's answer" in caplog.text


async def test_a_destructive_command_from_the_model_still_asks_first(runtime: Runtime) -> None:
    model = FakeListChatModel(responses=['{"intent": "pause_intake", "reason": "storm"}'])
    eva = Assistant(runtime, llm=LLMFallback(model))
    reply = await eva.handle("batten down the hatches")
    assert reply.awaiting_confirmation
    assert not runtime.intake_paused


class StructuredFake(FakeListChatModel):
    """A fake chat model that, like tool-calling models, fills a schema directly."""

    def with_structured_output(self, schema: Any, **kwargs: Any) -> Any:
        from langchain_core.runnables import RunnableLambda

        assert schema["title"] == "Command"
        return RunnableLambda(lambda _messages: {"intent": "pause_intake", "reason": "storm"})


async def test_models_with_structured_output_fill_the_command_schema(runtime: Runtime) -> None:
    eva = Assistant(runtime, llm=LLMFallback(StructuredFake(responses=["unused"])))
    reply = await eva.handle("batten down the hatches")
    assert reply.intent == "pause_intake"
    assert reply.awaiting_confirmation
