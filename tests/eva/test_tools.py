"""LangChain tools: one per intent, driving the runtime through the assistant."""

from __future__ import annotations

from eva import Assistant
from eva.tools import build_tools
from runtime import Runtime, SagaStatus
from tests.conftest import Recorder
from tests.runtime.test_sagas import start_held


async def test_there_is_a_tool_per_intent_with_the_intents_schema(runtime: Runtime) -> None:
    tools = {tool.name: tool for tool in build_tools(Assistant(runtime))}
    assert len(tools) == 20
    assert "unknown" not in tools
    schema = tools["list_sagas"].args
    assert {"status", "since_seconds", "saga_type", "venture", "limit"} <= set(schema)


async def test_tools_act_through_the_assistant_with_decisions_and_confirmation(
    runtime: Runtime, recorder: Recorder
) -> None:
    saga_id, gate = await start_held(runtime, recorder)
    eva = Assistant(runtime)
    tools = {tool.name: tool for tool in build_tools(eva)}
    assert await tools["pause_saga"].ainvoke({"saga": saga_id}) == f"Saga {saga_id} is now paused."
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PAUSED
    answer = await tools["cancel_saga"].ainvoke({"saga": saga_id, "reason": "agent says so"})
    assert answer.endswith("Confirm?")
    assert (await runtime.get_saga(saga_id)).status is SagaStatus.PAUSED
    assert (await eva.handle("no")).text == "Cancelled; nothing was changed."
    listed = await tools["list_sagas"].ainvoke({"status": "paused"})
    assert listed == "1 paused saga: 1 paused."
    [decision] = await runtime.decisions.list()
    assert decision.intent == "pause_saga"
    gate.set()
