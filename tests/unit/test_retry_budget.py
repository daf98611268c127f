"""The retry budget: retries at most a share of the calls, so a failing source is not hammered."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from federation.config.models import Config, GatewaySettings, GuardSettings, RetryBudgetSettings, SourceSettings
from federation.contract import Capabilities, Connector, EntityCapabilities, SearchRequest
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.errors import SourceUnavailable
from federation.model import builtin_model
from federation.records import Record
from federation.resilience.budget import RetryBudget


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_retries_are_a_share_of_the_calls_in_the_window() -> None:
    clock = Clock()
    budget = RetryBudget(RetryBudgetSettings(ratio=0.2, min_per_second=0, window_seconds=10), clock)
    for _ in range(100):
        budget.called()
    assert sum(budget.spend() for _ in range(30)) == 20
    assert budget.refused == 10
    clock.now += 11  # the window has moved past every call and retry
    assert not budget.spend()
    budget.called()
    budget.called()
    budget.called()
    budget.called()
    budget.called()
    assert budget.spend() and not budget.spend()


def test_a_quiet_source_may_always_retry_a_little() -> None:
    clock = Clock()
    budget = RetryBudget(RetryBudgetSettings(ratio=0.0, min_per_second=1, window_seconds=5), clock)
    assert sum(budget.spend() for _ in range(10)) == 5  # one per second over the window


@pytest.mark.parametrize(("value", "expected"), [(False, None), ("off", None), (None, None)])
def test_the_budget_can_be_turned_off(value: object, expected: object) -> None:
    assert GuardSettings.model_validate({"retry_budget": value}).retry_budget is expected
    assert GuardSettings().retry_budget == RetryBudgetSettings()  # on by default: 20 %, 10 per second


class Down(Connector):
    kind = "down"

    def __init__(self) -> None:
        self.name, self.attempts = "crm", 0

    async def lookup(self, entity: str, by: str, values: Sequence[str]) -> Sequence[Record]:
        self.attempts += 1
        raise SourceUnavailable(self.name, "connection refused")

    async def search(self, entity: str, request: SearchRequest) -> Sequence[Record]:
        return []

    def capabilities(self) -> Capabilities:
        return Capabilities({"Customer": EntityCapabilities(lookups=frozenset({"key:email"}))})


async def _attempts(budget: RetryBudgetSettings | None, calls: int) -> tuple[int, int]:
    down = Down()
    guard = GuardSettings(retries=3, backoff=0, backoff_max=0, retry_budget=budget,
                          breaker={"min_calls": 1000, "window": 1000})
    config = Config(file=Path("t.yaml"), gateway=GatewaySettings(), model=builtin_model(),
                    sources={"crm": SourceSettings(type="down", guard=guard)})
    gateway = Gateway(config, {"crm": down})
    for i in range(calls):
        await Request(gateway).lookup("Customer", "key:email", [f"a{i}@x.com"])
    return down.attempts, gateway.breaker("crm")["retriesRefused"]


async def test_a_failing_source_gets_few_retries_under_the_budget() -> None:
    unbudgeted, _ = await _attempts(None, 50)
    budgeted, refused = await _attempts(RetryBudgetSettings(ratio=0.2, min_per_second=0), 50)
    assert unbudgeted == 50 * 4  # every call, three retries each
    # 20 % of 50 calls: ten retries in all; every call then asked for one more and was refused.
    assert budgeted == 50 + 10 and refused == 50
