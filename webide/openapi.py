"""The OpenAPI 3.1 document of every HTTP endpoint, served at ``GET /api/openapi.json``.

It is written out here (not generated from the views) so that it can say what each endpoint means; the test suite
checks that every route of the app appears in it, so a new route cannot go undocumented.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from flask.wrappers import Response

bp = Blueprint("openapi", __name__)

JSON = "application/json"
Schema = dict[str, Any]

USER_AUTH = [{"session": []}, {"apiToken": []}]
DEVICE_AUTH = [{"deviceToken": []}, {"deviceBasic": []}]
PUBLIC: list[dict[str, list[str]]] = []


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def string(description: str = "", **extra: Any) -> Schema:
    return {"type": "string", **({"description": description} if description else {}), **extra}


def integer(description: str = "", **extra: Any) -> Schema:
    return {"type": "integer", **({"description": description} if description else {}), **extra}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def ok(schema: Schema, description: str = "OK") -> Schema:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("Error")}}}


def success_with(**properties: Schema) -> Schema:
    return {"allOf": [ref("Success"), obj(**properties)]}


def json_body(schema: Schema, required: bool = True) -> Schema:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def path_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or {"type": "string"}}


def query_param(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def header_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "header", "required": False, "description": description, "schema": {"type": "string"}}


PRODUCT_ID = path_param("product_id", "The bot's product ID",
                        {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"})
UPDATE_ID = path_param("update_id", "The build's update ID (32 hex characters)")
REVISION = path_param("rev", "A sketch revision number", {"type": "integer", "minimum": 1})

COMMON_ERRORS = {"400": error("Malformed input; the message names the field"),
                 "401": error("Not logged in"),
                 "404": error("No such bot (or not one the caller may see)")}
DEVICE_ERRORS = {"401": error("Missing or wrong device credentials (the same answer whether or not the bot exists)"),
                 "403": error("The bot is blocked")}


def operation(summary: str, tag: str, responses: dict[str, Schema], security: list | None = None,
              description: str = "", parameters: list[Schema] | None = None, body: Schema | None = None,
              operation_id: str = "") -> Schema:
    op: Schema = {"summary": summary, "tags": [tag], "operationId": operation_id, "responses": responses,
                  "security": USER_AUTH if security is None else security}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    return op


def schemas() -> dict[str, Schema]:
    sketch_file = obj(("name", "content"), name=string("File name, e.g. bot_001.ino or helpers.h"),
                      content=string("File text"))
    build_progress = obj(("success", "status", "progress", "message"), success={"type": "boolean"},
                         status=string(enum=["pending", "in_progress", "complete", "error"]),
                         progress=integer(minimum=0, maximum=100), message=string(),
                         error=string("Only when status is error"))
    return {
        "Error": obj(("success", "error"), success={"const": False}, error=string("What went wrong, for people")),
        "Success": obj(("success",), success={"const": True}),
        "SketchFile": sketch_file,
        "Diagnostic": obj(file=string(), line=integer(), column=integer(), severity=string(), message=string()),
        "BuildProgress": build_progress,
        "BuildDetail": {"allOf": [build_progress, obj(
            update_id=string(), product_id=string(), revision=integer(), fqbn=string(), deploy={"type": "boolean"},
            diagnostics={"type": "array", "items": ref("Diagnostic")}, sizes=nullable({"type": "object"}),
            cache_hit={"type": "boolean"},
            artifact=nullable(obj(sha256=string(), md5=string(), size=integer())),
            timings=obj(queued_s=nullable({"type": "number"}), build_s=nullable({"type": "number"})),
            log=string("The compiler output"))]},
        "Device": obj(
            product_id=string(), name=string(), fqbn=string(), class_name=nullable(string()),
            blocked={"type": "boolean"}, created_at=string(format="date-time"),
            last_seen=nullable(string("Last heartbeat", format="date-time")),
            online={"type": "boolean", "description": "A heartbeat arrived within WEBIDE_DEVICE_OFFLINE_S"},
            running=nullable(obj(md5=nullable(string()), sha256=nullable(string()), version=nullable(string()))),
            target=nullable(obj(md5=string(), sha256=string(), size=integer(), build_number=nullable(integer()))),
            flash=nullable(ref("FlashState")),
            firmware_url=string("The bot's static firmware URL", format="uri")),
        "FlashState": obj(
            state=string("waiting_for_button → downloading → rebooting → running, or failed / rolled_back",
                         enum=["waiting_for_button", "downloading", "rebooting", "running", "failed",
                               "rolled_back"]),
            progress=integer("Download progress measured by the server from bytes sent", minimum=0, maximum=100),
            message=string("The reason for failed / rolled_back")),
        "Manifest": obj(
            ("updateAvailable", "latestVersion", "currentVersion", "url", "md5", "sha256", "size"),
            updateAvailable={"type": "boolean", "description": "The bot does not run its target image"},
            latestVersion=nullable(string("The target's build number")),
            currentVersion=nullable(string("What the bot last said it runs (x-ESP32-version or heartbeat fw)")),
            url=nullable(string("Signed firmware URL, valid WEBIDE_SIGNED_URL_TTL_S seconds, for this image only",
                                format="uri")),
            md5=nullable(string(pattern="^[0-9a-f]{32}$")), sha256=nullable(string(pattern="^[0-9a-f]{64}$")),
            size=nullable(integer())),
        "Heartbeat": {**obj(
            fw=string("Firmware version the bot runs", maxLength=64),
            md5=string("MD5 of the running sketch", pattern="^[0-9a-fA-F]{32}$"),
            sha256=string("SHA-256 of the running sketch (whole file, or the image's appended digest)",
                          pattern="^[0-9a-fA-F]{64}$"),
            heap=integer("Free heap in bytes", minimum=0), uptime=integer("Seconds since boot", minimum=0),
            rssi=integer("Wi-Fi signal in dBm", minimum=-200, maximum=50),
            ip=string("IPv4 or IPv6 address"), mac=string(pattern="^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$"),
            rolled_back={"type": "boolean", "description": "The bootloader returned to the previous image"}),
            "additionalProperties": {"description": "Other numeric fields are kept as sensor readings (up to 32); "
                                                    "other values are ignored"},
            "description": "At most 8 KiB; NaN and Infinity are refused"},
        "StatusReport": obj(("status",), status=string(enum=["STARTED", "IN_PROGRESS", "SUCCESS", "FAILED"]),
                            progress=integer(minimum=0, maximum=100),
                            message=string("Why it failed; containing 'rolled back' marks a rollback",
                                           maxLength=300)),
        "Sketch": obj(files={"type": "array", "items": sketch_file}, revision=integer(), fqbn=string(),
                      sketch_name=string(), saved_at=string(format="date-time")),
        "RevisionSummary": obj(revision=integer(), created_at=string(format="date-time"), message=string(),
                               author=string(), kind=string(enum=["save", "autosave", "build", "restore", "import",
                                                                  "create"])),
        "Wifi": obj(ssid=string(), has_password={"type": "boolean"}),
    }


def auth_paths() -> dict[str, Schema]:
    credentials = {"oneOf": [obj(("product_id", "password"), product_id=string(), password=string()),
                             obj(("username", "password"), username=string(), password=string())]}
    page = {"description": "HTML page", "content": {"text/html": {}}}
    redirect = {"description": "Redirect (to the start page or the login page)"}
    return {
        "/login": {
            "get": operation("Login page", "pages", {"200": page, "302": redirect}, PUBLIC, operation_id="loginPage"),
            "post": operation("Log in from the form (bot or person); sets the session cookie", "pages",
                              {"302": redirect, "400": page, "401": page, "429": page}, PUBLIC,
                              body={"required": True, "content": {"application/x-www-form-urlencoded": {
                                  "schema": obj(("identifier", "password", "csrf_token"),
                                                mode=string(enum=["device", "user"]), identifier=string(),
                                                password=string(), csrf_token=string())}}},
                              operation_id="loginSubmit"),
        },
        "/logout": {"post": operation("Log out of the browser session", "pages", {"302": redirect},
                                      operation_id="logout")},
        "/api/auth/login": {"post": operation(
            "Get an API token", "auth",
            {"200": ok(success_with(token=string("Send as Authorization: Bearer"),
                                    kind=string(enum=["device", "user"]))),
             "400": error("Missing fields"), "401": error("Wrong credentials, or the bot is blocked"),
             "429": error("Too many failed logins; see Retry-After")},
            PUBLIC, body=json_body(credentials), operation_id="apiLogin",
            description="A bot logs in with its product ID and password, a person with username and password. "
                        "Failed logins are throttled per account and per client address.")},
        "/api/auth/logout": {"post": operation("Revoke the API token (or end the session)", "auth",
                                               {"200": ok(ref("Success")), "401": error("Not logged in")},
                                               operation_id="apiLogout")},
        "/api/auth/csrf": {"get": operation("CSRF token for browser scripts (send as X-CSRFToken)", "auth",
                                            {"200": ok(success_with(csrf_token=string()))}, PUBLIC,
                                            operation_id="csrfToken")},
        "/api/auth/me": {"get": operation("Who is logged in", "auth",
                                          {"200": ok(success_with(kind=string(), name=string(), role=string())),
                                           "401": error("Not logged in")}, operation_id="whoami")},
        "/api/auth/password": {"post": operation(
            "Change the caller's password (ends every other session and token)", "auth",
            {"200": ok(ref("Success")), "400": error("New password too short"),
             "401": error("Wrong current password"), "429": error("Too many failed attempts")},
            body=json_body(obj(("current_password", "new_password"), current_password=string(),
                               new_password=string(minLength=4))), operation_id="changePassword")},
    }


def device_paths() -> dict[str, Schema]:
    return {
        "/api/devices": {"get": operation("The bots the caller may see", "devices",
                                          {"200": ok(success_with(devices={"type": "array", "items": ref("Device")})),
                                           "401": error("Not logged in")}, operation_id="listDevices")},
        "/api/devices/{product_id}": {
            "parameters": [PRODUCT_ID],
            "get": operation("One bot: presence, running and target firmware, flash state", "devices",
                             {"200": ok({"allOf": [ref("Success"), ref("Device")]}), **COMMON_ERRORS},
                             operation_id="showDevice"),
            "patch": operation("Change the bot's board", "devices",
                               {"200": ok({"allOf": [ref("Success"), ref("Device")]}), **COMMON_ERRORS},
                               body=json_body(obj(("fqbn",), fqbn=string("e.g. esp32:esp32:esp32"))),
                               operation_id="changeDevice"),
        },
        "/api/devices/{product_id}/wifi": {
            "parameters": [PRODUCT_ID],
            "get": operation("The bot's Wi-Fi network (never the password)", "devices",
                             {"200": ok({"allOf": [ref("Success"), ref("Wifi")]}), **COMMON_ERRORS},
                             operation_id="getWifi"),
            "put": operation("Set the bot's Wi-Fi network", "devices",
                             {"200": ok({"allOf": [ref("Success"), ref("Wifi")]}), **COMMON_ERRORS},
                             body=json_body(obj(ssid=string(), password=nullable(string(
                                 "'' = open network; omitted = keep the stored password")))),
                             operation_id="putWifi"),
        },
        "/api/devices/{product_id}/provisioning": {"post": operation(
            "Download the bot's first-flash kit; issues a new device token", "devices",
            {"200": {"description": "<product_id>-provisioning.zip: nvs.bin (NVS partition image for offset 0x9000, "
                                    "size 0x5000), README.txt (flashing steps), settings.json (the same settings "
                                    "for the setup portal)",
                     "headers": {"X-Device-Token-Replaced": {
                         "description": "Always true: the bot's previous device token no longer works",
                         "schema": {"type": "string"}}},
                     "content": {"application/zip": {}}},
             **COMMON_ERRORS, "400": error("No Wi-Fi settings stored for the bot yet, or an unusable server URL")},
            parameters=[PRODUCT_ID], operation_id="provisioningKit",
            description="The NVS image holds the namespace `webide` with the keys the agent reads: ssid, pass "
                        "(Wi-Fi), server (WEBIDE_PUBLIC_URL or this request's host URL), product and token. Only "
                        "a hash of a device token is stored, so every download issues a new token and the previous "
                        "one stops working. Browser sessions send X-CSRFToken.")},
    }


def build_paths() -> dict[str, Schema]:
    return {
        "/api/devices/{product_id}/builds": {
            "parameters": [PRODUCT_ID],
            "post": operation(
                "Verify (deploy=false) or Upload (deploy=true)", "builds",
                {"202": ok(success_with(update_id=string(), status=string(), progress=integer(), message=string(),
                                        revision=integer()), "Queued"),
                 **COMMON_ERRORS, "429": error("Too many builds queued"),
                 "503": error("The build queue is unavailable")},
                body=json_body(obj(deploy={"type": "boolean"}, fqbn=string(),
                                   files={"type": "array", "items": ref("SketchFile"),
                                          "description": "Omitted: build the stored sketch"})),
                operation_id="submitBuild",
                description="Compiles in a sandbox on a worker; follow it on /ota-update-progress/{update_id} or "
                            "in the bot's room of the /ota-update Socket.IO namespace. Upload makes the image the "
                            "bot's target: the bot pulls it at its next button press."),
            "get": operation("The bot's last 50 builds, newest first", "builds",
                             {"200": ok(success_with(builds={"type": "array", "items": ref("BuildDetail")})),
                              **COMMON_ERRORS}, operation_id="buildHistory"),
        },
        "/ota-update-progress/{update_id}": {"get": operation(
            "Build progress (the documented OTA progress shape)", "builds",
            {"200": ok(ref("BuildProgress")), "401": error("Not logged in"),
             "404": ok(obj(success={"const": False}, status={"const": "not_found"}, progress=integer(),
                           message=string(), error=string()), "No such update")},
            parameters=[UPDATE_ID], operation_id="buildProgress")},
        "/api/builds/{update_id}": {"get": operation("Build details with log, diagnostics and sizes", "builds",
                                                     {"200": ok(ref("BuildDetail")), **COMMON_ERRORS},
                                                     parameters=[UPDATE_ID], operation_id="buildDetail")},
        "/api/builds/{update_id}/cancel": {"post": operation(
            "Cancel a queued or running build", "builds",
            {"200": ok(success_with(update_id=string(), status=string())), **COMMON_ERRORS},
            parameters=[UPDATE_ID], operation_id="cancelBuild")},
    }


def class_paths() -> dict[str, Schema]:
    name = path_param("name", "The class name")
    class_errors = {"400": error("Malformed input"), "401": error("Not logged in"),
                    "404": error("No such class (or not one the caller may see)")}
    return {
        "/api/classes": {"get": operation(
            "The classes the caller may see", "classes",
            {"200": ok(success_with(classes={"type": "array", "items": obj(
                name=string(), instructor=nullable(string()), bots=integer("Number of bots"))})),
             "401": error("Not logged in")}, operation_id="listClasses")},
        "/api/classes/{name}": {"get": operation(
            "A class and its bots: who is online, what each runs, flash states", "classes",
            {"200": ok(success_with(name=string(), bots={"type": "array", "items": ref("Device")})),
             **class_errors}, parameters=[name], operation_id="showClass")},
        "/api/classes/{name}/builds": {"post": operation(
            "Give every bot of the class this sketch and Verify or Upload it (deploy defaults to true)", "classes",
            {"202": ok(success_with(builds={"type": "array", "items": obj(
                product_id=string(), update_id=string(), revision=integer())}), "Queued"), **class_errors},
            parameters=[name],
            body=json_body(obj(("files",), files={"type": "array", "items": ref("SketchFile")},
                               main=string("Which file is the main sketch file (renamed per bot)", maxLength=64),
                               deploy={"type": "boolean", "default": True})),
            operation_id="pushToClass")},
    }


def sketch_paths() -> dict[str, Schema]:
    sketch_ops = {"200": ok({"allOf": [ref("Success"), ref("Sketch")]}), **COMMON_ERRORS}
    return {
        "/api/devices/{product_id}/sketch": {
            "parameters": [PRODUCT_ID],
            "get": operation("The current sketch", "sketch", sketch_ops, operation_id="getSketch"),
            "put": operation(
                "Save (explicit=true) or autosave the editor's files", "sketch",
                {"200": ok(success_with(revision=integer())), **COMMON_ERRORS,
                 "409": error("Someone saved a newer revision; the body's `current` has it")},
                body=json_body(obj(("files", "base_revision"), files={"type": "array", "items": ref("SketchFile")},
                                   base_revision=integer("The revision the edited text was based on"),
                                   explicit={"type": "boolean"}, message=string(maxLength=200), fqbn=string())),
                operation_id="putSketch"),
        },
        "/api/devices/{product_id}/sketch/revisions": {"get": operation(
            "Revision history, newest first", "sketch",
            {"200": ok(success_with(revisions={"type": "array", "items": ref("RevisionSummary")})), **COMMON_ERRORS},
            parameters=[PRODUCT_ID, query_param("before", "Page back from this revision", {"type": "integer"}),
                        query_param("limit", "1..200, default 50", {"type": "integer"})],
            operation_id="listRevisions")},
        "/api/devices/{product_id}/sketch/revisions/{rev}": {"get": operation(
            "One revision's files (and highlighted HTML)", "sketch",
            {"200": ok({"allOf": [ref("Success"), ref("RevisionSummary"), obj(
                files={"type": "array", "items": ref("SketchFile")}, html=string())]}), **COMMON_ERRORS},
            parameters=[PRODUCT_ID, REVISION], operation_id="showRevision")},
        "/api/devices/{product_id}/sketch/revisions/{rev}/restore": {"post": operation(
            "Restore a revision as a new revision", "sketch",
            {"200": ok(success_with(revision=integer(), files={"type": "array", "items": ref("SketchFile")})),
             **COMMON_ERRORS, "409": error("A newer revision exists than base_revision")},
            parameters=[PRODUCT_ID, REVISION], body=json_body(obj(base_revision=integer()), required=False),
            operation_id="restoreRevision")},
        "/api/devices/{product_id}/sketch.zip": {"get": operation(
            "Download the sketch folder as a zip", "sketch",
            {"200": {"description": "The sketch folder", "content": {"application/zip": {}}}, **COMMON_ERRORS},
            parameters=[PRODUCT_ID], operation_id="exportZip")},
        "/api/devices/{product_id}/sketch/import": {"post": operation(
            "Import a .zip (replaces the sketch) or one source file (adds or replaces a tab)", "sketch",
            {"200": ok(success_with(revision=integer(), files={"type": "array", "items": ref("SketchFile")})),
             **COMMON_ERRORS, "413": error("Upload too large")},
            parameters=[PRODUCT_ID],
            body={"required": True, "content": {"multipart/form-data": {"schema": obj(
                ("file",), file=string(format="binary"), base_revision=string())}}},
            operation_id="importSketch")},
        "/api/devices/{product_id}/format": {"post": operation(
            "Auto Format one tab with clang-format (nothing is saved)", "sketch",
            {"200": ok(success_with(content=string())), **COMMON_ERRORS},
            parameters=[PRODUCT_ID], body=json_body(obj(("name", "content"), name=string(), content=string())),
            operation_id="formatFile")},
        "/api/examples": {"get": operation("The examples menu", "sketch",
                                           {"200": ok(success_with(examples={"type": "array", "items": obj(
                                               id=string(), title=string(), description=string())})),
                                            "401": error("Not logged in")}, operation_id="listExamples")},
        "/api/examples/{example_id}": {"get": operation(
            "An example's files", "sketch",
            {"200": ok(success_with(id=string(), files={"type": "array", "items": ref("SketchFile")})),
             **COMMON_ERRORS},
            parameters=[path_param("example_id", "Example ID from /api/examples"),
                        query_param("product_id", "Rename the main file to this bot's main file")],
            operation_id="showExample")},
    }


def ota_paths() -> dict[str, Schema]:
    stock_headers = [
        header_param("x-ESP32-sketch-md5", "MD5 of the running sketch (core 3.x); equal to the target → 304"),
        header_param("x-ESP32-sketch-sha256", "SHA-256 of the running sketch (core 2.x); compared case-insensitively"),
        header_param("x-ESP32-free-space", "Free sketch space; a larger image is refused with 409"),
        header_param("x-ESP32-mode", "sketch (spiffs is refused with 400)"),
        header_param("x-ESP32-version", "The running firmware's version"),
        header_param("Range", "bytes=<start>-[<end>] to resume a download"),
        header_param("If-Range", "The ETag the download started with; if the target changed, the whole new "
                                 "image is sent (200) instead of a range, so images are never mixed"),
        header_param("If-None-Match", "The target's ETag → 304"),
        query_param("expires", "Signed URL expiry (unix time), from the check endpoint", {"type": "integer"}),
        query_param("sig", "Signed URL signature, from the check endpoint"),
    ]
    image_headers = {"Content-Length": {"schema": {"type": "integer"}},
                     "x-MD5": {"description": "MD5 of the whole image, lowercase hex", "schema": {"type": "string"}},
                     "ETag": {"description": "The image's SHA-256 in quotes", "schema": {"type": "string"}}}
    binary = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    signed = [*DEVICE_AUTH, {"signedUrl": []}]
    return {
        "/{product_id}.ino.bin": {"get": operation(
            "The bot's target firmware for the stock Arduino-ESP32 HTTPUpdate client", "device",
            {"200": {"description": "The whole image (HTTP/1.0-compatible, never chunked)", "headers": image_headers,
                     "content": binary},
             "206": {"description": "The requested range", "headers": {
                 **image_headers, "Content-Range": {"schema": {"type": "string"}}}, "content": binary},
             "304": {"description": "The bot already runs its target image"},
             "400": error("Unsupported x-ESP32-mode"), **DEVICE_ERRORS,
             "404": error("No firmware uploaded for this bot yet"),
             "409": error("The image is larger than the reported free sketch space"),
             "416": error("Range outside the image (Content-Range: bytes */<size>)")},
            signed, parameters=[PRODUCT_ID, *stock_headers], operation_id="firmware",
            description="Every byte sent moves the flash state: downloading n% (measured by the server), then "
                        "rebooting once the whole image went out. No redirects; with "
                        "WEBIDE_X_ACCEL_REDIRECT_PREFIX set, nginx sends the bytes (X-Accel-Redirect).")},
        "/api/ota/{product_id}/check": {"get": operation(
            "Update manifest", "device",
            {"200": ok(ref("Manifest")), **DEVICE_ERRORS}, DEVICE_AUTH,
            parameters=[PRODUCT_ID, stock_headers[0], stock_headers[1], stock_headers[4],
                        query_param("md5", "Running sketch MD5 (instead of the header)"),
                        query_param("sha256", "Running sketch SHA-256 (instead of the header)")],
            operation_id="checkUpdate",
            description="Reporting the target's hash here (or on the firmware URL, or in a heartbeat) confirms "
                        "the deployment: running.")},
        "/api/ota/{product_id}/status": {"post": operation(
            "OTA progress report from the bot's agent", "device",
            {"200": ok(success_with(state=nullable(string()), progress=nullable(integer()))),
             "400": error("Malformed report"), **DEVICE_ERRORS, "413": error("Report larger than 8 KiB")},
            DEVICE_AUTH, parameters=[PRODUCT_ID], body=json_body(ref("StatusReport")), operation_id="otaStatus",
            description="STARTED/IN_PROGRESS → downloading, SUCCESS → rebooting, FAILED → failed (or rolled_back "
                        "when the message says 'rolled back'). Reports never move the state backwards.")},
        "/api/devices/{product_id}/heartbeat": {"post": operation(
            "Heartbeat: presence, running image, telemetry", "device",
            {"200": ok(success_with(update_available={"type": "boolean"})),
             "400": error("Malformed report"), **DEVICE_ERRORS, "413": error("Report larger than 8 KiB")},
            DEVICE_AUTH, parameters=[PRODUCT_ID], body=json_body(ref("Heartbeat")), operation_id="heartbeat",
            description="A bot is online while its last heartbeat is within WEBIDE_DEVICE_OFFLINE_S. The target's "
                        "hash confirms the deployment (running); the old hash after a restart while rebooting "
                        "means rolled_back. Refused reports change nothing.")},
    }


def page_paths() -> dict[str, Schema]:
    page = {"description": "HTML page", "content": {"text/html": {}}}
    login = {"description": "Not logged in: redirect to /login"}
    return {
        "/": {"get": operation("Start page: a bot's editor, or the instructor's dashboard", "pages",
                               {"200": page, "302": login}, operation_id="home")},
        "/devices/{product_id}/editor": {"get": operation("The editor for one bot", "pages",
                                                          {"200": page, "302": login, "404": page},
                                                          parameters=[PRODUCT_ID], operation_id="editorPage")},
        "/api/openapi.json": {"get": operation("This document", "meta", {"200": ok({"type": "object"})}, PUBLIC,
                                               operation_id="openapi")},
    }


def openapi_document() -> dict[str, Any]:
    """The whole document: every route of the app with its auth, inputs, answers and errors."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "webide",
            "version": "1",
            "description": "Web IDE with sandboxed server-side compilation and OTA delivery for ESP32 bots. "
                           "Live build and flash output streams over Socket.IO in the /ota-update namespace "
                           "(join a bot's room; events are replayed from `since`).",
        },
        "tags": [{"name": "auth"}, {"name": "devices"}, {"name": "builds"}, {"name": "sketch"}, {"name": "classes"},
                 {"name": "device", "description": "Called by the bot's firmware, authenticated by its device token"},
                 {"name": "pages"}, {"name": "meta"}],
        "paths": {**auth_paths(), **device_paths(), **build_paths(), **sketch_paths(), **class_paths(), **ota_paths(),
                  **page_paths()},
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session",
                            "description": "Browser session; unsafe methods also need X-CSRFToken"},
                "apiToken": {"type": "http", "scheme": "bearer", "description": "Token from POST /api/auth/login"},
                "deviceToken": {"type": "http", "scheme": "bearer", "description": "The bot's device token"},
                "deviceBasic": {"type": "http", "scheme": "basic",
                                "description": "product_id as user, device token as password"},
                "signedUrl": {"type": "apiKey", "in": "query", "name": "sig",
                              "description": "Short-lived signed firmware URL from the check endpoint"},
            },
        },
    }


@bp.get("/api/openapi.json")
def document() -> Response:
    return jsonify(openapi_document())
