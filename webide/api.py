"""The HTTP API's contract in one place: spectree validates requests and responses against the pydantic models in
``webide.schemas`` and generates the OpenAPI 3.1 document from them (served at ``/api/openapi.json``).

spectree was chosen over flask-openapi3 and APIFlask because it decorates plain Flask views: the app factory, the
blueprints, Flask-Login and the error handlers stay as they are, and the views keep raising the domain's errors.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user
from pydantic import ValidationError
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree

from .core.accounts import accessible_device, require_admin, require_staff
from .core.audit import Actor
from .core.classes import visible_classroom
from .core.errors import BadRequest
from .schemas import ErrorReply

USER = [{"session": []}, {"apiToken": []}]
DEVICE = [{"deviceToken": []}, {"deviceBasic": []}]
FIRMWARE = [*DEVICE, {"signedUrl": []}]
PUBLIC: list[dict[str, list[str]]] = []
METRICS = [{"metricsToken": []}]
MAX_ERROR_FIELDS = 5
FORM_MIMETYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def explain_invalid_request(_request: Any, _response: Any, error: Exception | None, *_rest: Any) -> None:
    """Turn a request that fails its model into the API's usual 400 naming each bad field."""
    if error is None:
        return
    if request.method not in ("GET", "DELETE") and not request.is_json and request.content_length:
        raise BadRequest("Expected a JSON body (Content-Type: application/json)")
    problems = (
        [describe(problem) for problem in error.errors()[:MAX_ERROR_FIELDS]]
        if isinstance(error, ValidationError)
        else [str(error)]
    )
    raise BadRequest("; ".join(problems), problems=problems)


def refuse_unreadable_json() -> None:
    """spectree reads the body with ``get_json(silent=True) or {}``, which would treat a body that is not valid JSON
    (nested too deeply, a lone surrogate, NaN) as an empty object; such a body is a 400 saying why."""
    if not (request.is_json and request.content_length) or request.get_json(silent=True) is not None:
        return
    try:
        current_app.json.loads(request.get_data(cache=True))
    except ValueError as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None


def describe(problem: dict[str, Any]) -> str:
    """One pydantic error in the API's words, naming the field the way a client wrote it (``files[0].name``)."""
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in problem["loc"]).lstrip(".")
    kind, limits = problem["type"], problem.get("ctx") or {}
    if kind == "value_error":
        reason = str(limits.get("error", problem["msg"]))
        return f"Field {where} {reason}" if where else reason
    if kind == "missing":
        return f"Missing field: {where}"
    if kind == "too_long" and isinstance(problem.get("input"), str):
        kind = "string_too_long"  # a length limit on a constrained string reports the generic kind
    if kind in PHRASES:
        return f"Field {where} {PHRASES[kind].format(**limits)}"
    return f"Field {where}: {problem['msg']}"


PHRASES = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "greater_than_equal": "must be a whole number of at least {ge}",
    "less_than_equal": "must be a whole number of at most {le}",
    "bool_type": "must be true or false",
    "string_too_long": "is longer than {max_length} characters",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "has an invalid format",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "too_long": "has too many entries",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "extra_forbidden": "is not allowed here",
    "literal_error": "must be one of {expected}",
}


spec = SpecTree(
    "flask",
    title="webide",
    version="1",
    description="Web IDE with sandboxed server-side compilation and over-the-air delivery for ESP32 bots. Errors "
    "are always JSON {success: false, error}. Browser sessions send the CSRF token as X-CSRFToken.",
    path="api/docs",
    page_templates={},
    mode="strict",
    annotations=True,
    validation_error_status=400,
    validation_error_model=ErrorReply,
    before=explain_invalid_request,
    naming_strategy=lambda model: model.__name__,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(name="session", data=SecuritySchemeData(type="apiKey", name="session", field_in="cookie")),
        SecurityScheme(
            name="apiToken",
            data=SecuritySchemeData(type="http", scheme="bearer", description="From POST /api/auth/login"),
        ),
        SecurityScheme(
            name="deviceToken",
            data=SecuritySchemeData(type="http", scheme="bearer", description="The bot's device token"),
        ),
        SecurityScheme(
            name="deviceBasic",
            data=SecuritySchemeData(
                type="http", scheme="basic", description="product_id:device_token (Arduino-ESP32 2.x)"
            ),
        ),
        SecurityScheme(
            name="metricsToken",
            data=SecuritySchemeData(
                type="http",
                scheme="bearer",
                description="WEBIDE_METRICS_TOKEN; without one set, only loopback clients may scrape",
            ),
        ),
        SecurityScheme(
            name="signedUrl",
            data=SecuritySchemeData(
                type="apiKey",
                name="sig",
                field_in="query",
                description="With expires=…, as handed out by the check endpoint",
            ),
        ),
    ],
)


def documented(
    tag: str,
    ok: type | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    security: list[dict[str, list[str]]] | None = None,
    other: dict[int, type | None] | None = None,
    parsed_body: type | None = None,
    access: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Validate a view's request (models taken from its ``json``/``query`` parameters) and its ``ok`` response.

    ``errors`` are the statuses it can answer with ``{"success": false, "error"}``; ``other`` adds statuses with
    their own model (None: not JSON, e.g. a page, a redirect or a file). ``parsed_body`` documents a body that the
    view reads itself (the device path caps its size before parsing), so neither it nor the answer is validated here;
    a view with neither a request model nor a JSON answer (a page, a file) is only documented, never wrapped.
    ``access`` ("staff": instructors and admins, "admin": admins) is enforced, like the visibility of a class named
    in the URL, before the request is validated, so a caller who may not use a route learns nothing from it.
    """
    codes: dict[str, Any] = {f"HTTP_{code}": ErrorReply for code in errors}
    codes[f"HTTP_{status}"] = ok
    codes.update({f"HTTP_{code}": model for code, model in (other or {}).items()})
    plain = [code for code, model in codes.items() if model is None]
    models = {code: model for code, model in codes.items() if model is not None}
    validate = spec.validate(
        resp=Response(*plain, **models),
        tags=[tag],
        security=USER if security is None else security,
        json=parsed_body,
        skip_validation=parsed_body is not None,
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        validated = validate(view)
        parameters = inspect.signature(view).parameters
        if ok is None and "json" not in parameters and "query" not in parameters:
            validated = documented_only(view, validated)  # pages and files: streamed, never read by spectree
        if access is not None or "class_name" in parameters:
            validated = gated(validated, access)
            validated.access = access  # type: ignore[attr-defined]
        if "json" not in parameters:
            return validated

        @functools.wraps(validated)
        def json_only(*args: Any, **kwargs: Any) -> Any:
            if "product_id" in kwargs:  # a bot the caller may not see is a 404 before its body is judged
                accessible_device(current_user, kwargs["product_id"])
            refuse_unreadable_json()
            if request.mimetype in FORM_MIMETYPES:  # spectree would hand the view no body at all
                raise BadRequest("Expected a JSON body (Content-Type: application/json)")
            return validated(*args, **kwargs)

        return json_only

    return decorate


def with_html_pages(document: dict[str, Any]) -> dict[str, Any]:
    """spectree only knows JSON bodies; the pages answer with HTML, so say so."""
    for item in document["paths"].values():
        for operation in item.values():
            if operation.get("tags") != ["pages"]:
                continue
            for code, response in operation["responses"].items():
                if code.startswith(("2", "4")):
                    response["content"] = {"text/html": {"schema": {"type": "string"}}}
    return document


def acting() -> Actor:
    """Who acts in this request and from where, for the audit log."""
    return Actor.of(current_user, request.remote_addr)


def gated(view: Callable[..., Any], access: str | None) -> Callable[..., Any]:
    """Refuse callers without the role, and hide a class they may not see, before anything else is judged."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if "product_id" in kwargs:
            accessible_device(current_user, kwargs["product_id"])
        if "class_name" in kwargs:
            visible_classroom(current_user, kwargs["class_name"])
        if access == "staff":
            require_staff(current_user)
        elif access == "admin":
            require_admin(current_user)
        return view(*args, **kwargs)

    return checked


bp = Blueprint("apidoc", __name__)


def documented_only(view: Callable[..., Any], validated: Callable[..., Any]) -> Callable[..., Any]:
    """The view itself, carrying spectree's description for the OpenAPI document: nothing to validate, and spectree
    would read every response body into memory (a file sent by the server's file wrapper, such as a firmware
    image under gunicorn, cannot be read that way at all: it was a 500)."""

    @functools.wraps(validated)
    def unvalidated(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **kwargs)

    return unvalidated


@bp.get("/api/openapi.json")
@documented("documentation", security=PUBLIC)
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route, generated from the request and response models."""
    return with_html_pages(copy.deepcopy(spec.spec))
