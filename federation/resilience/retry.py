"""Retry policy for source calls: retryable errors only, full jitter, `retry_after`, the deadline.

tenacity's defaults retry forever on any exception without waiting; every choice is explicit here.
"""

from __future__ import annotations

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from federation.config.models import GuardSettings
from federation.resilience.budget import RetryBudget
from federation.resilience.deadline import Deadline

__all__ = ["retrying"]

MIN_ATTEMPT = 0.01  # seconds: no retry when less than this would be left for the attempt


def retrying(settings: GuardSettings, deadline: Deadline, budget: RetryBudget | None = None) -> AsyncRetrying:
    """An `AsyncRetrying` for one guarded call under `deadline` (and the source's retry budget)."""
    stop = stop_after_attempt(settings.retries + 1) | _StopAtDeadline(deadline)
    if budget is not None:
        stop = stop | _StopWhenBudgetSpent(budget)  # last: asked only when every other rule would retry
    return AsyncRetrying(
        stop=stop,
        wait=_WaitRetryAfter(wait_random_exponential(multiplier=settings.backoff, max=settings.backoff_max)),
        retry=retry_if_exception(_worth_retrying),
        reraise=True,
    )


def _worth_retrying(exc: BaseException) -> bool:
    """The error type's `retryable`, and nothing else (federation/errors.py sets it per type:
    a timeout is not retryable, the source already had its whole timeout)."""
    return bool(getattr(exc, "retryable", False))


class _WaitRetryAfter(wait_base):
    """The source's `retry_after` when it gave one, else the jittered backoff."""

    def __init__(self, fallback: wait_base) -> None:
        self.fallback = fallback

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return float(retry_after)
        return self.fallback(retry_state)


class _StopAtDeadline(stop_base):
    """Stop when the coming wait would leave no time for another attempt."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep + MIN_ATTEMPT >= self.deadline.remaining


class _StopWhenBudgetSpent(stop_base):
    """Stop when the source's retry budget allows no more retries; a retry it allows is counted."""

    def __init__(self, budget: RetryBudget) -> None:
        self.budget = budget

    def __call__(self, retry_state: RetryCallState) -> bool:
        return not self.budget.spend()
