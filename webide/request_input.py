"""Reading request bodies: one strict JSON parser and one helper, so every endpoint rejects bad input the same way."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider

from .core.errors import BadRequest, TooLarge


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, minus what JSON does not allow: NaN/Infinity are refused and deep nesting is a 400, not a 500."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def parse_json(text: str | bytes) -> Any:
    """JSON as RFC 8259 defines it, holding only valid Unicode; ValueError (never RecursionError) for anything else.

    A ``\\ud800`` escape decodes to a lone surrogate, which no UTF-8 database, file or ZIP can store; refusing it
    here keeps it out of every field of every endpoint.
    """
    try:
        value = json.loads(text, parse_constant=reject_constant)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    refuse_lone_surrogates(value)
    return value


def refuse_lone_surrogates(value: Any) -> None:
    """ValueError if any string (key or value) in a parsed JSON document holds a lone surrogate."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(
                    "it contains text that is not valid Unicode (a lone surrogate such as \\ud800)"
                ) from None


def reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number JSON allows")


def json_body(max_bytes: int | None = None) -> dict[str, Any]:
    """The request's JSON object, or a 400 that says what is wrong with it (413 over ``max_bytes``)."""
    if max_bytes is not None and (request.content_length or 0) > max_bytes:
        raise TooLarge(f"Request body too large (limit {max_bytes} bytes)")
    raw = request.get_data(cache=True) if max_bytes is None else request.stream.read(max_bytes + 1)
    if max_bytes is not None and len(raw) > max_bytes:
        raise TooLarge(f"Request body too large (limit {max_bytes} bytes)")
    if max_bytes is None and not request.is_json:
        raise BadRequest("Expected a JSON body (Content-Type: application/json)")
    try:
        body = parse_json(raw)
    except ValueError as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("Expected a JSON object")
    return body
