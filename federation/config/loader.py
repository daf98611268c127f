"""YAML + `${ENV}` → typed, validated config; every problem reported with file, path and fix."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from federation import registry
from federation.config.models import Config, GatewaySettings, SourceSettings
from federation.contract import Connector
from federation.errors import ConfigError, ConfigProblem
from federation.identity.scope import scope_problems
from federation.model.declaration import ModelDecl
from federation.model.loader import builtin_model, check_model, check_overlay, merge_models
from federation.security.settings import SecuritySettings

__all__ = ["interpolate", "load_config", "load_model", "parse_config"]

M = TypeVar("M", bound=BaseModel)

# ${NAME} or ${NAME:-default}. os.path.expandvars leaves unknown names as they are, which
# would send a literal "${CRM_KEY}" to a source; a missing variable must be an error instead.
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TOP = {"gateway", "model", "security", "sources"}
_COMMON = set(SourceSettings.model_fields) - {"options"}


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read, interpolate and validate the config at `path`; ConfigError lists every problem."""
    file = Path(path)
    return parse_config(_read_yaml(file), file, os.environ if env is None else env)


def load_model(path: str | Path, env: Mapping[str, str] | None = None) -> ModelDecl:
    """Only the served model of the config at `path` (built-in plus `model:`), for `federation schema`.

    Sources and security are not read, so printing a schema never needs a source's URL or secret.
    """
    file = Path(path)
    data = _read_yaml(file)
    where = str(file)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(where, "", "the top level must be a mapping", ", ".join(sorted(_TOP)))])
    problems: list[ConfigProblem] = []
    section = interpolate(data.get("model") or {}, "model", os.environ if env is None else env, where, problems)
    model = _model(section, where, problems)
    if problems:
        raise ConfigError(problems)
    assert model is not None
    return model


def _read_yaml(file: Path) -> Any:
    try:
        text = file.read_text("utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(file), "", f"cannot read the file: {exc.strerror}")]) from exc
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except _DuplicateKey as exc:
        raise ConfigError([ConfigProblem(str(file), exc.path, exc.problem, "each key once per mapping")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError([ConfigProblem(str(file), where, f"not valid YAML: {exc}")]) from exc
    return data


class _DuplicateKey(yaml.YAMLError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path, self.problem = path, problem


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key written twice in one mapping (plain YAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKey(f"line {line}", f"duplicate key '{key}' (first written at line {seen[key]}); "
                                    "YAML would silently keep only the last one")
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def parse_config(data: Any, file: Path, env: Mapping[str, str]) -> Config:
    """Validate already-parsed YAML `data` that came from `file`."""
    where = str(file)
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(where, "", "the top level must be a mapping", ", ".join(sorted(_TOP)))])
    problems: list[ConfigProblem] = []
    data = interpolate(data, "", env, where, problems)
    for extra in sorted(set(data) - _TOP):
        problems.append(ConfigProblem(where, extra, "unknown section", ", ".join(sorted(_TOP))))
    gateway = _validate(GatewaySettings, data.get("gateway") or {}, "gateway", where, problems)
    model = _model(data.get("model") or {}, where, problems)
    sources, options = _sources(data.get("sources"), where, problems)
    security = None
    if data.get("security") is not None:
        security = _validate(SecuritySettings, _resolve_paths(data["security"], file.parent), "security", where,
                             problems)
    if model is not None:
        problems.extend(_provided(model, data.get("model") or {}, data.get("sources"), where))
    if model is not None and gateway is not None and isinstance(data.get("sources"), dict):
        problems.extend(ConfigProblem(where, p, what, valid) for p, what, valid in scope_problems(
            model, gateway.key_groups, [str(s) for s in data["sources"]]))
    if problems:
        raise ConfigError(problems)
    assert gateway is not None and model is not None
    return Config(file=file, gateway=gateway, model=model, sources=sources, validated_options=options,
                  security=security)


def _resolve_paths(section: Any, base: Path) -> Any:
    """Files named in `security:` are relative to the config file."""
    if not isinstance(section, dict):
        return section
    out = dict(section)
    for outer, inner in (("audit", "path"), ("jwt", "jwks_file"), ("limits", "persisted_queries")):
        block = out.get(outer)
        if isinstance(block, dict) and isinstance(block.get(inner), str):
            out[outer] = {**block, inner: str((base / block[inner]).resolve())}
    return out


def interpolate(value: Any, path: str, env: Mapping[str, str], where: str, problems: list[ConfigProblem]) -> Any:
    """Replace `${NAME}` in every string; a missing variable without a default is a problem."""
    if isinstance(value, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else str(k), env, where, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, f"{path}[{i}]", env, where, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append(ConfigProblem(where, path, f"environment variable {name} is not set",
                                      f"export {name}=… or write ${{{name}:-default}}"))
        return ""

    return _VAR.sub(substitute, value)


def _model(section: Any, where: str, problems: list[ConfigProblem]) -> ModelDecl | None:
    if not isinstance(section, dict):
        problems.append(ConfigProblem(where, "model", "must be a mapping with enums and entities"))
        return None
    try:
        model = merge_models(builtin_model(), section)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, "model", where, ModelDecl))
        return None
    found = check_overlay(builtin_model(), section) + check_model(model)
    problems.extend(ConfigProblem(where, p, what, valid) for p, what, valid in found)
    return model


def _provided(model: ModelDecl, section: dict[str, Any], sources: Any, where: str) -> list[ConfigProblem]:
    """A relation or root the config declares must lead to an entity some source maps."""
    if not isinstance(sources, dict):
        return []
    mapped: set[str] = set()
    for raw in sources.values():
        entities = raw.get("entities") if isinstance(raw, dict) else None
        if not isinstance(entities, dict):
            return []  # a connector without `entities:` maps we cannot see; its capabilities decide
        mapped |= set(entities)
    valid = ", ".join(sorted(mapped)) or "none mapped"
    out = []
    for name, entity in (section.get("entities") or {}).items():
        for rel_name, rel in ((entity or {}).get("relations") or {}).items() if isinstance(entity, dict) else ():
            target = rel.get("entity") if isinstance(rel, dict) else None
            if target in model.entities and target not in mapped:
                out.append(ConfigProblem(where, f"model.entities.{name}.relations.{rel_name}.entity",
                                         f"no source maps {target}, so this relation can never resolve", valid))
    for name, root in model.roots.items():
        if root.entity in model.entities and root.entity not in mapped:
            out.append(ConfigProblem(where, f"model.roots.{name}.entity",
                                     f"no source maps {root.entity}, so this root can never answer", valid))
    return out


def _sources(
    section: Any, where: str, problems: list[ConfigProblem]
) -> tuple[dict[str, SourceSettings], dict[str, Any]]:
    sources: dict[str, SourceSettings] = {}
    options: dict[str, Any] = {}
    if not isinstance(section, dict) or not section:
        problems.append(ConfigProblem(where, "sources", "at least one source is required"))
        return sources, options
    known = registry.available()
    for name, raw in section.items():
        path = f"sources.{name}"
        if not isinstance(raw, dict):
            problems.append(ConfigProblem(where, path, "must be a mapping with a 'type'"))
            continue
        common = {k: v for k, v in raw.items() if k in _COMMON}
        settings = _validate(SourceSettings, common, path, where, problems)
        if settings is None:
            continue
        if settings.type not in known:
            problems.append(ConfigProblem(where, f"{path}.type", f"unknown connector type '{settings.type}'",
                                          ", ".join(sorted(known))))
            continue
        cls = registry.load(settings.type)
        validated = _connector_options(cls, {k: v for k, v in raw.items() if k not in _COMMON}, path, where, problems)
        settings.options = {k: v for k, v in raw.items() if k not in _COMMON}
        sources[name] = settings
        options[name] = validated
    return sources, options


def _connector_options(cls: type[Connector], raw: dict[str, Any], path: str, where: str,
                       problems: list[ConfigProblem]) -> Any:
    try:
        return cls.validate_options(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, path, where, getattr(cls, "options_model", None)))
    except ValueError as exc:
        problems.append(ConfigProblem(where, path, str(exc)))
    return None


def _validate(cls: type[M], data: Any, path: str, where: str, problems: list[ConfigProblem]) -> M | None:
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, path, where, cls))
        return None


def _pydantic_problems(exc: ValidationError, prefix: str, where: str,
                       root: type[BaseModel] | None = None) -> list[ConfigProblem]:
    out = []
    for error in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in error["loc"])
        path = f"{prefix}.{loc}" if loc else prefix
        message, valid = error["msg"], ""
        if error["type"] == "extra_forbidden":
            names = _fields_at(root, error["loc"][:-1])
            close = get_close_matches(str(error["loc"][-1]), names, n=1)
            message = f"unknown option (did you mean '{close[0]}'?)" if close else "unknown option"
            valid = ", ".join(names)
        elif error["type"] in ("literal_error", "enum"):
            valid = str(error.get("ctx", {}).get("expected", ""))
        elif error["type"] == "value_error":  # our validators' own words, without pydantic's label
            message = message.removeprefix("Value error, ")
        out.append(ConfigProblem(where, path, message, valid))
    return out


def _fields_at(root: type[BaseModel] | None, loc: tuple[Any, ...]) -> list[str]:
    """The option names valid at `loc` inside `root`, found by walking the annotations."""
    current: Any = root
    for part in loc:
        current = _step(current, str(part))
        if current is None:
            return []
    names: set[str] = set()
    for model in _models(current):
        names |= {f.alias or n for n, f in model.model_fields.items()}
    return sorted(names)


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, unions, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models(arg)]


def _step(current: Any, part: str) -> Any:
    """The annotation one path step below `current`: a model field, a dict value, a list item."""
    for model in _models(current) if get_origin(current) not in (dict, list, tuple) else []:
        by_alias = {f.alias or n: f for n, f in model.model_fields.items()}
        field = by_alias.get(part) or model.model_fields.get(part)
        if field is not None:
            return field.annotation
    for model in _models(current):  # a tagged union's location names the tag: pick that model
        tag = model.model_fields.get("type")
        if tag is not None and part in get_args(tag.annotation):
            return model
    origin, args = get_origin(current), get_args(current)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (list, tuple) and args and part.isdigit():
        return args[0]
    for arg in args:
        if get_origin(arg) in (dict, list, tuple):
            return _step(arg, part)
    return None
