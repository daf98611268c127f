"""Guards around source calls: deadline, retries, circuit breaker, bulkhead, coalescing."""

from federation.resilience.breaker import BreakerState, CircuitBreaker
from federation.resilience.bulkhead import Bulkhead, BulkheadFull, SlotWaitTimeout
from federation.resilience.coalesce import Coalescer
from federation.resilience.deadline import Deadline
from federation.resilience.guard import SourceGuard

__all__ = ["BreakerState", "Bulkhead", "BulkheadFull", "CircuitBreaker", "Coalescer", "Deadline", "SlotWaitTimeout",
           "SourceGuard"]
