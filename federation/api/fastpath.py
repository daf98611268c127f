"""The adapter between strawberry and the compiled execution path: which requests take it.

Strawberry keeps the schema, parsing, validation, introspection, limits, the audit log and
every document the planner declines. A document strawberry has validated and begun to execute
for a role (`Learn`) is planned once per (document, operationName, role) by
federation/api/planner.py; each later request with that document binds
its own variables into the cached plan and is answered by federation/api/executor.py, with no
re-parsing, re-validation or re-planning. An answer the executor cannot reproduce exactly goes
back to strawberry, which runs the request from the start.

Identical operations (same plan, so same document and role, and same variables) sent while one
of them still waits on its first source call share that execution's response (`FastPath._lead`;
`gateway.coalesce_operations`). A document of constants is answered from the body built on its
first request while answers carry no `extensions.sources`. See docs/architecture.md, "One
execution engine".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Hashable, Iterator, Mapping
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError, GraphQLSchema
from graphql.execution.values import VariableValues
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as StrawberryOperation

from federation.api.build import ModelTypes
from federation.api.executor import Answer, execute
from federation.api.planner import Plan, Unsupported, compile_plan
from federation.engine.gateway import Gateway
from federation.engine.request import Request
from federation.ops import metrics
from federation.ops.extension import label, record_request
from federation.ops.tracing import span
from federation.security import PRINCIPAL, AuditSink, Policy
from federation.security.auth import Principal
from federation.security.settings import SecuritySettings

__all__ = ["FastPath", "Learn"]

_MAX_DOCUMENTS = 1000
_BODY_KEY_MAX = 8192  # larger bodies are parsed every time rather than kept as keys
_JSON = {"Content-Type": "application/json; charset=utf-8"}  # as strawberry's path sends it, built once
_CLOSED = object()  # a caller the compiled path never answers (audited, no principal, an unknown role)


# -- the gate: which requests take the compiled path ----------------------------------------------


class Learn(SchemaExtension):
    """Marks a document as validated once strawberry starts executing it (every check passed)."""

    def __init__(self, fast: FastPath) -> None:
        self.fast = fast

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.query is not None and context.operation_type == StrawberryOperation.QUERY:
            state = context.context
            principal = state.get(PRINCIPAL) if isinstance(state, dict) else None
            role = self.fast.role(principal)
            if role is not _CLOSED:
                self.fast.learn(context.query, role)
        yield


class FastPath:
    """Compiled plans per validated (document, operationName, role), and the answer for requests
    that can use one."""

    def __init__(self, gateway: Gateway, schema: GraphQLSchema, types: ModelTypes,
                 security: SecuritySettings | None, audit: AuditSink | None) -> None:
        self.gateway = gateway
        self.schema = schema
        self.types = types
        self.secured = security is not None
        self.audited = audit is not None
        roles = security.roles if security is not None else {}
        guarded = frozenset(gateway.model.entities) | {"Query", "Mutation"}  # as build_schema guards them
        # Each role's policy, planned into its plans; None for a role that reads everything
        # unmasked (strawberry's path then runs no per-field hook either: `role_extension`).
        self.policies: dict[str, Policy | None] = {}
        for name, settings in roles.items():
            policy = Policy(name, settings, guarded)
            self.policies[name] = None if policy.unrestricted else policy
        # Validation is of the whole document, whichever operation a request names (and strawberry
        # reports the document's own name when the request names none): kept per (document, role).
        self._validated: set[tuple[str, str | None]] = set()
        self._plans: dict[tuple[str, str | None, str | None], Plan | None] = {}
        # (Request body bytes, role) → plan, for bodies without variables that have one: clients
        # send the same bytes for the same document, and the same bytes always parse to the same
        # document, so a repeat skips JSON parsing and the plan look-up.
        self._by_body: dict[tuple[bytes, str | None], Plan] = {}
        self.coalesce = gateway.config.gateway.coalesce_operations
        self._open: dict[Hashable, tuple[Plan, asyncio.Future[Answer | None]]] = {}  # joinable executions
        # A document of constants calls no source, so its body is the same every time unless it
        # carries `extensions.sources` (each source's breaker state, which changes): built once.
        self.fixed_answers = not gateway.config.gateway.response_extensions
        self._fixed: dict[int, tuple[Plan, Answer | None]] = {}  # id(plan) → its answer
        self.answered = 0  # requests this path answered (strawberry answered the others)

    def role(self, principal: Any) -> Any:
        """The role a plan is kept for (None without security), or _CLOSED."""
        if self.audited:
            return _CLOSED
        if not self.secured:
            return None
        if isinstance(principal, Principal) and principal.role in self.policies:
            return principal.role
        return _CLOSED

    def learn(self, query: str, role: str | None) -> None:
        if len(self._validated) >= _MAX_DOCUMENTS:
            self._validated.clear()
        self._validated.add((query, role))

    def plan(self, query: str, operation_name: str | None, role: str | None = None) -> Plan | None:
        """The cached plan for a document strawberry validated for this role; None: strawberry answers."""
        key = (query, operation_name, role)
        if key in self._plans:
            return self._plans[key]
        if (query, role) not in self._validated:
            return None
        try:
            policy = self.policies.get(role) if role is not None else None
            plan: Plan | None = compile_plan(query, operation_name, self.schema, self.gateway.model, self.types,
                                             policy)
        except (Unsupported, GraphQLError):
            plan = None
        if len(self._plans) >= _MAX_DOCUMENTS:
            self._plans.clear()
        self._plans[key] = plan
        return plan

    async def answer(self, request: web.Request, principal: Any) -> web.Response | None:
        """The response, or None when the strawberry path must answer."""
        role = self.role(principal)
        if role is _CLOSED:
            return None
        raw = await request.read()  # an oversized body raises 413 here, as on the strawberry path
        variables: Mapping[str, Any] | None = None
        plan = self._by_body.get((raw, role))
        if plan is None:
            parsed = self._parsed(raw, role)
            if parsed is None:
                return None
            plan, variables = parsed
            if not variables and len(raw) <= _BODY_KEY_MAX:
                if len(self._by_body) >= _MAX_DOCUMENTS:
                    self._by_body.clear()
                self._by_body[(raw, role)] = plan
        try:
            bound = plan.variables(variables)
        except Unsupported:
            return None
        given = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS) if bound is not None else b""
        return await self._run(plan, bound, given)

    def _parsed(self, raw: bytes, role: str | None) -> tuple[Plan, Mapping[str, Any] | None] | None:
        """The plan and variables of a request body, or None when it is not one the compiled path answers."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(body, dict) or not isinstance(query := body.get("query"), str):
            return None
        operation_name, variables = body.get("operationName"), body.get("variables")
        if operation_name is not None and not isinstance(operation_name, str):
            return None
        if variables is not None and not isinstance(variables, dict):
            return None
        plan = self.plan(query, operation_name, role)
        return None if plan is None else (plan, variables)

    async def _run(self, plan: Plan, variables: VariableValues | None, given: bytes) -> web.Response | None:
        started = time.perf_counter()
        name = label(plan.operation)
        key = (id(plan), given)  # the plan is per document and role; with the variables, per operation
        with span("graphql.request") as current:
            running = self._open.get(key)
            if running is not None and running[0] is plan:
                answer, joined = await self._join(running[1], plan, variables)
                if joined:
                    metrics.TALLY.coalesced(name)
                    current.set_attribute("onepane.coalesced", True)
            elif self.coalesce and plan.fetches:
                answer = await self._lead(plan, variables, key)
            elif not plan.fetches and self.fixed_answers:
                answer = await self._constant(plan)
            else:
                answer = await self._answer(plan, variables)
            if answer is None:
                return None
            current.set_attribute("graphql.operation.name", name)
            current.set_attribute("onepane.outcome", answer.outcome)
            current.set_attribute("onepane.compiled", True)
        record_request(name, answer.outcome, time.perf_counter() - started)
        self.answered += 1
        return web.Response(body=answer.body, headers=_JSON)

    async def _constant(self, plan: Plan) -> Answer | None:
        """The answer of a document of constants, built on its first request."""
        kept = self._fixed.get(id(plan))
        if kept is not None and kept[0] is plan:
            return kept[1]
        answer = await self._answer(plan, None)
        if len(self._fixed) >= _MAX_DOCUMENTS:
            self._fixed.clear()
        self._fixed[id(plan)] = (plan, answer)
        return answer

    async def _lead(self, plan: Plan, variables: VariableValues | None, key: Hashable) -> Answer | None:
        """Execute `plan`, joinable by identical requests until its first source call returns.

        Those are the requests whose own first call would have joined that call anyway (the guard
        coalesces identical calls in flight), and every later call of the plan follows from that
        first answer; so a joiner gets the answer it would have computed, without computing it.
        A request that arrives later runs the plan itself: nothing is kept once answered. The
        leader executes in its own request's task (a task of its own, shielded, cost every request
        ~9 µs of CPU and two event-loop passes); if it goes away before answering, the requests
        that joined it run the plan themselves (`_join`).
        """
        engine = Request(self.gateway)
        shared: asyncio.Future[Answer | None] = asyncio.get_running_loop().create_future()
        self._open[key] = (plan, shared)

        def close() -> None:
            if self._open.get(key, (None, None))[1] is shared:
                del self._open[key]

        engine.on_first_answer = close
        try:
            answer = await self._answer(plan, variables, engine)
        except asyncio.CancelledError:
            close()
            shared.cancel()
            raise
        except BaseException as exc:
            close()
            shared.set_exception(exc)
            shared.exception()  # the joiners raise it; without any, no "never retrieved" noise
            raise
        close()
        shared.set_result(answer)
        return answer

    async def _join(self, shared: asyncio.Future[Answer | None], plan: Plan,
                    variables: VariableValues | None) -> tuple[Answer | None, bool]:
        """The answer of the execution this request joined (and True); when its leader went away
        before answering, the one this request computes itself (and False)."""
        try:
            return await asyncio.shield(shared), True  # this request going away cancels nothing shared
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not shared.cancelled() or (task is not None and task.cancelling()):
                raise  # this request itself is cancelled
        return await self._answer(plan, variables), False

    async def _answer(self, plan: Plan, variables: VariableValues | None,
                      engine: Request | None = None) -> Answer | None:
        try:
            return await execute(plan, variables, engine if engine is not None else Request(self.gateway))
        except Unsupported:
            return None
