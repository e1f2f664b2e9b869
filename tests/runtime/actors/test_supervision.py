"""Supervision decisions are pure: property tests with an injected clock (plain numbers)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runtime.actors.supervision import (
    Directive,
    RestartIntensity,
    Strategy,
    SupervisorSpec,
    affected,
    count_restart,
    supervise,
)

names = st.lists(st.text("abcdef", min_size=1, max_size=3), min_size=1, max_size=6, unique=True)


@given(
    st.lists(st.floats(0, 1000, allow_nan=False), max_size=40).map(sorted),
    st.integers(1, 5),
    st.floats(0.1, 100, allow_nan=False),
)
def test_restart_intensity_never_allows_more_than_n_restarts_in_any_window(
    times: list[float], max_restarts: int, window: float
) -> None:
    intensity = RestartIntensity(max_restarts, window)
    history: tuple[float, ...] = ()
    allowed: list[float] = []
    for now in times:
        within, history = count_restart(history, now, intensity)
        if within:
            allowed.append(now)
    for start in allowed:
        in_window = [t for t in allowed if start <= t < start + window]
        assert len(in_window) <= max_restarts


@given(names, st.data())
def test_strategies_pick_the_failed_child_all_children_or_the_rest(
    children: list[str], data: st.DataObject
) -> None:
    failed = data.draw(st.sampled_from(children))
    assert affected(Strategy.ONE_FOR_ONE, children, failed) == (failed,)
    assert affected(Strategy.ONE_FOR_ALL, children, failed) == tuple(children)
    rest = affected(Strategy.REST_FOR_ONE, children, failed)
    assert rest[0] == failed
    assert rest == tuple(children[children.index(failed) :])


@given(st.sampled_from(list(Directive)), names, st.data())
def test_the_deciders_directive_is_applied_unless_intensity_is_exceeded(
    directive: Directive, children: list[str], data: st.DataObject
) -> None:
    failed = data.draw(st.sampled_from(children))
    spec = SupervisorSpec(Strategy.ONE_FOR_ALL, lambda _: directive, RestartIntensity(2, 10))
    first = supervise(spec, children, failed, ValueError("x"), (), 0.0)
    assert first.directive is directive
    if directive in (Directive.RESTART, Directive.STOP):
        assert first.targets == tuple(children)
    else:
        assert first.targets == (failed,)
    if directive is Directive.RESTART:
        second = supervise(spec, children, failed, ValueError("x"), first.history, 1.0)
        third = supervise(spec, children, failed, ValueError("x"), second.history, 2.0)
        assert second.directive is Directive.RESTART
        assert third.directive is Directive.ESCALATE
        assert "exceeded its restart intensity (2 restarts in 10s)" in third.reason
        later = supervise(spec, children, failed, ValueError("x"), second.history, 30.0)
        assert later.directive is Directive.RESTART


def test_a_decider_that_raises_escalates() -> None:
    def broken(_: BaseException) -> Directive:
        raise KeyError("oops")

    decision = supervise(SupervisorSpec(decider=broken), ["a"], "a", ValueError(), (), 0.0)
    assert decision.directive is Directive.ESCALATE
    assert "decider raised" in decision.reason
