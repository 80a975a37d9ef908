"""Request and response shapes of the HTTP API (pydantic v2); the OpenAPI document is generated from them.

Requests are strict: a string where a number belongs is a 400, never coerced. Responses describe what the views
return; spectree checks every response against its model, and the test suite runs schemathesis over the document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from .core.commands import COMMANDS, RESULT_STATES
from .core.deployments import FLASH_STATES
from .core.devicelink import MAX_LINES_PER_MESSAGE
from .core.rules import FQBN_PATTERN, MAX_PASSWORD, MAX_REVISION, MAX_ROW_ID
from .core.sketches import MAX_FILE_NAME, MAX_FILE_TEXT, REVISION_KINDS


def refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    return text


Text = Annotated[StrictStr, AfterValidator(refuse_nul)]
Revision = Annotated[StrictInt, Field(ge=1, le=MAX_REVISION, description="A sketch revision number")]
RevisionParameter = Annotated[int, Field(ge=1, le=MAX_REVISION, description="A sketch revision number")]
Fqbn = Annotated[StrictStr, Field(max_length=120, pattern=FQBN_PATTERN, description="e.g. esp32:esp32:esp32")]
Secret = Annotated[StrictStr, Field(min_length=1, max_length=MAX_PASSWORD)]
Md5 = Annotated[str, Field(pattern="^[0-9a-f]{32}$")]
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class RequestBody(BaseModel):
    """Unknown fields are ignored; known ones must have exactly the documented type."""

    model_config = ConfigDict(strict=True, extra="ignore")


class Reply(BaseModel):
    success: Literal[True] = True


class ErrorReply(BaseModel):
    """Every error, whatever the status."""

    success: Literal[False] = False
    error: str = Field(description="What went wrong, for people")


# --- operations ---------------------------------------------------------------------------------------------------


class HealthReply(Reply):
    status: Literal["ok"] = "ok"


class ReadyReply(Reply):
    ready: Literal[True] = True
    checks: dict[str, str] = Field(description='Each dependency ("database", "redis", "toolchain"): "ok"')


class NotReadyReply(ErrorReply):
    checks: dict[str, str] = Field(description='Each dependency: "ok" or the reason it is not ready')


# --- accounts -----------------------------------------------------------------------------------------------------


class Login(RequestBody):
    """A bot logs in with product ID and password, a person with username and password."""

    product_id: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    username: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    password: Secret

    @model_validator(mode="before")
    @classmethod
    def names_an_account(cls, data: Any) -> Any:
        if isinstance(data, dict) and "product_id" not in data and "username" not in data:
            raise ValueError("Missing field: product_id or username")
        return data


class LoginReply(Reply):
    token: str = Field(description="Send as Authorization: Bearer <token>")
    kind: Literal["device", "user"]


class CsrfReply(Reply):
    csrf_token: str


class WhoAmI(Reply):
    kind: Literal["device", "user"]
    name: str
    role: str


class PasswordChange(RequestBody):
    current_password: Secret
    new_password: Secret


class TokenSummary(BaseModel):
    id: int
    created_at: str | None
    expires_at: str | None
    current: bool = Field(description="The token this request carries")


class TokenList(Reply):
    tokens: list[TokenSummary] = Field(description="Your API tokens that still work, newest first (never the tokens)")


# --- bots ---------------------------------------------------------------------------------------------------------


class RunningImage(BaseModel):
    md5: str | None
    sha256: str | None
    version: str | None


class TargetImage(BaseModel):
    md5: Md5
    sha256: Sha256
    size: int
    build_number: int | None


class FlashState(BaseModel):
    state: Literal[FLASH_STATES] = Field(  # type: ignore[valid-type]
        description="waiting_for_button → downloading → rebooting → running, or failed / rolled_back"
    )
    progress: int = Field(ge=0, le=100, description="Download progress measured by the server from bytes sent")
    message: str = Field(description="The reason for failed / rolled_back")


class DeviceSummary(BaseModel):
    product_id: str
    name: str
    fqbn: str
    class_name: str | None
    blocked: bool
    created_at: str | None
    last_seen: str | None = Field(description="Last heartbeat (ISO 8601)")
    online: bool = Field(description="A heartbeat arrived within WEBIDE_DEVICE_OFFLINE_S")
    live_link: bool | None = Field(
        default=None, description="Connected to the MQTT broker (its presence on the status topic); null: never said"
    )
    running: RunningImage | None
    target: TargetImage | None
    flash: FlashState | None
    firmware_url: str = Field(description="The bot's static firmware URL")


class DeviceReply(Reply, DeviceSummary):
    pass


class DeviceList(Reply):
    devices: list[DeviceSummary]


class BoardChange(RequestBody):
    fqbn: Fqbn


class WifiSettings(RequestBody):
    """Checked further by the Wi-Fi rules (802.11 lengths in bytes, no control characters)."""

    ssid: StrictStr | None = None
    password: StrictStr | None = Field(None, description='"" = open network; omitted = keep the stored password')


class WifiReply(Reply):
    ssid: str
    has_password: bool


# --- sketches -----------------------------------------------------------------------------------------------------


class SketchFile(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: Annotated[Text, Field(max_length=MAX_FILE_NAME, description="e.g. bot_001.ino or helpers.h")]
    content: Annotated[Text, Field(max_length=MAX_FILE_TEXT)] = ""


SketchFiles = Annotated[list[SketchFile], Field(min_length=1, max_length=1000)]


class SketchSave(RequestBody):
    files: SketchFiles
    base_revision: Revision = Field(description="The revision the edited text was based on")
    explicit: StrictBool = Field(False, description="Save (true) or autosave (false)")
    message: Annotated[Text, Field(max_length=200)] = ""
    fqbn: Fqbn | None = None


class SketchReply(Reply):
    files: list[SketchFile]
    revision: int
    fqbn: str
    sketch_name: str
    saved_at: str | None


class RevisionReply(Reply):
    revision: int


class RevisionSummary(BaseModel):
    revision: int
    created_at: str | None
    message: str
    author: str
    kind: Literal[tuple(REVISION_KINDS)]  # type: ignore[valid-type]


class RevisionList(Reply):
    revisions: list[RevisionSummary]


class RevisionPage(BaseModel):
    before: RevisionParameter | None = Field(None, description="Page back from this revision")
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class RevisionDetail(Reply, RevisionSummary):
    files: list[SketchFile]
    html: dict[str, str] = Field(description="Each file highlighted by Pygments")


class StarterReply(Reply):
    revision: int = Field(description="The hand-out's revision in the bot's history")
    message: str = Field(description="The hand-out's history message (the assignment's title and the mode)")
    files: list[SketchFile] = Field(description="The starter's files; its main .ino named after the bot's sketch")


class Restore(RequestBody):
    base_revision: Revision | None = None


class FilesReply(Reply):
    revision: int
    files: list[SketchFile]


class FormatRequest(RequestBody):
    name: Annotated[Text, Field(min_length=1, max_length=MAX_FILE_NAME)]
    content: Annotated[Text, Field(max_length=MAX_FILE_TEXT)]


class FormatReply(Reply):
    content: str


class Example(BaseModel):
    id: str
    title: str
    description: str


class ExampleList(Reply):
    examples: list[Example]


class ExampleQuery(BaseModel):
    product_id: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="Rename the main file to this bot's main file"
    )


class ExampleReply(Reply):
    id: str
    files: list[SketchFile]


# --- builds -------------------------------------------------------------------------------------------------------


class BuildRequest(RequestBody):
    deploy: StrictBool = Field(False, description="Upload (true) or Verify (false)")
    fqbn: Fqbn | None = None
    files: SketchFiles | None = Field(None, description="Omitted: build the stored sketch")


BuildStatusName = Literal["pending", "in_progress", "complete", "error"]


class Queued(Reply):
    update_id: str
    status: BuildStatusName
    progress: int
    message: str
    revision: int


class BuildProgress(Reply):
    status: BuildStatusName
    progress: int = Field(ge=0, le=100)
    message: str
    error: str | None = Field(None, description="Only when status is error")


class UnknownBuild(BaseModel):
    success: Literal[False] = False
    status: Literal["not_found"] = "not_found"
    progress: int
    message: str
    error: str


class Diagnostic(BaseModel):
    file: str | None = None
    line: int | None = None
    column: int | None = None
    severity: str
    message: str


class ArtifactDigest(BaseModel):
    sha256: Sha256
    md5: Md5
    size: int


class Timings(BaseModel):
    queued_s: float | None
    build_s: float | None


class BuildDetail(BuildProgress):
    update_id: str
    product_id: str
    revision: int
    fqbn: str
    deploy: bool
    diagnostics: list[Diagnostic]
    sizes: dict[str, Any] | None
    cache_hit: bool
    compiled_by: str | None = Field(
        None, description="A class flash compiles each distinct sketch once: the build that compiled for this one"
    )
    artifact: ArtifactDigest | None
    over_the_air: bool | None = Field(
        description="The board updates over the air (an Upload makes the image the bot's target); false: it is "
        "flashed over USB from firmware_url; null: no installed toolchain knows the board"
    )
    firmware_url: str | None = Field(
        description="Where the compiled firmware is downloaded (null: the build made none)"
    )
    firmware_file: str | None = Field(
        description="The file that download saves (e.g. blink.ino.hex), for a board flashed over USB; else null"
    )
    timings: Timings
    log: str | None = Field(None, description="The compiler output (only in the single-build view)")


class BuildList(Reply):
    builds: list[BuildDetail]


class Cancelled(Reply):
    update_id: str
    status: BuildStatusName


# --- classes ------------------------------------------------------------------------------------------------------


class ClassSummary(BaseModel):
    name: str
    instructor: str | None
    bots: int = Field(description="Number of bots")
    archived: bool = Field(description="Read-only: no roster changes, no uploads")
    created_at: str | None


class ClassList(Reply):
    classes: list[ClassSummary]


class ClassDetail(Reply):
    name: str
    archived: bool
    bots: list[DeviceSummary]


ClassName = Annotated[
    StrictStr, Field(min_length=1, max_length=64, description="Letters, digits, spaces and _.()-, e.g. 'Period 3'")
]
Username = Annotated[StrictStr, Field(min_length=1, max_length=64)]


class ClassCreate(RequestBody):
    name: ClassName
    instructor: Username | None = Field(None, description="Admins only: the instructor who owns it (default: you)")


class ClassChange(RequestBody):
    name: ClassName | None = Field(None, description="Rename")
    archived: StrictBool | None = Field(None, description="Archive (read-only) or restore")
    instructor: Username | None = Field(None, description="Admins only: give the class to this instructor")


class ClassReply(Reply, ClassSummary):
    pass


class RosterOptions(BaseModel):
    preview: bool = Field(True, description="true: only check each row; false: import every row or none")
    fqbn: Annotated[str, Field(max_length=120, pattern=FQBN_PATTERN)] | None = Field(
        None, description="Board of the new bots (default: WEBIDE_DEFAULT_FQBN)"
    )


class RosterRow(BaseModel):
    line: int = Field(description="Line of the file")
    product_id: str
    name: str
    class_name: str | None
    password_given: bool = Field(description="false: a password is generated when importing")
    ok: bool
    errors: list[str]


class NewBot(BaseModel):
    product_id: str
    device_token: str = Field(description="Shown once; only its hash is stored")
    password: str | None = Field(description="The generated password (shown once); null when one was given")


class RosterReply(Reply):
    preview: bool
    valid: int = Field(description="Rows that can be imported")
    invalid: int
    rows: list[RosterRow] = Field(description="Every row with its verdict (preview only)")
    created: list[NewBot] = Field(description="The new bots (import only)")


# --- staff actions on bots and accounts ---------------------------------------------------------------------------


class DeviceRegister(RequestBody):
    product_id: Annotated[StrictStr, Field(min_length=1, max_length=64)]
    password: Secret | None = Field(None, description="Omitted: a 6-digit password is generated and returned once")
    name: Annotated[Text, Field(max_length=120)] = ""
    class_name: ClassName = Field(alias="class")
    fqbn: Fqbn | None = None


class NewBotReply(Reply, NewBot):
    class_name: str


class PasswordReset(RequestBody):
    password: Secret | None = Field(None, description="Omitted: a new password is generated")


class PasswordReply(Reply):
    password: str = Field(description="The new password, shown once")


class DeviceTokenReply(Reply):
    device_token: str = Field(description="Shown once; the bot's previous token stopped working")
    warning: str


class BlockRequest(RequestBody):
    blocked: StrictBool


class BlockReply(Reply):
    blocked: bool


class DeviceMove(RequestBody):
    class_name: ClassName = Field(alias="class")


class Telemetry(BaseModel):
    heap: int | None
    uptime: int | None
    rssi: int | None
    ip: str | None
    mac: str | None
    sensors: dict[str, float | int]
    outputs: dict[str, bool | int] = Field(
        default_factory=dict, description="LED, relay … as the bot last reported them on the live link"
    )


class DeviceStatusReply(DeviceReply):
    telemetry: Telemetry = Field(description="From the latest heartbeat")


class BuildRef(BaseModel):
    number: int = Field(description="Build number on this bot (its Nth Upload)")
    revision: int | None = Field(description="The sketch revision the build was compiled from")


class FirstError(BaseModel):
    file: str | None
    line: int | None
    message: str
    normalized: str = Field(description="The message with names, paths and numbers taken out (the error map's key)")


class CompileResult(BaseModel):
    status: Literal["clean", "error"]
    update_id: str
    revision: int
    deploy: bool = Field(description="Upload (true) or Verify (false)")
    finished_at: str | None
    error: FirstError | None = Field(description="The first error (with file:line when the compiler named one)")


class Building(BaseModel):
    update_id: str
    status: Literal["pending", "in_progress"] = Field(description="Queued, or compiling")
    deploy: bool = Field(description="Upload (true) or Verify (false)")
    message: str = Field(description='Where the build stands, e.g. "Compiling once for 30 bots (on bot_07)"')


class DashboardTelemetry(BaseModel):
    heap: int | None
    uptime: int | None
    rssi: int | None
    ip: str | None
    mac: str | None
    received_at: str | None


class DashboardBot(DeviceSummary):
    board_name: str = Field(description="The board's human name")
    head_revision: int | None = Field(description="The newest sketch revision")
    running_build: BuildRef | None = Field(description="The build whose image the bot reports running")
    target_build: BuildRef | None = Field(description="The build the bot should run")
    edits_behind: int | None = Field(description="Revisions saved since the running image's; null when unknown")
    compile: CompileResult | None = Field(description="The latest finished Verify or Upload")
    building: Building | None = Field(description="A Verify or Upload that is queued or compiling now")
    telemetry: DashboardTelemetry = Field(description="From the latest heartbeat")
    sensors: dict[str, float | int] = Field(description="Other numeric fields of the latest heartbeat")


class Dashboard(Reply):
    total: int
    online: int
    bots: list[DashboardBot]


class ErrorBot(BaseModel):
    product_id: str
    name: str
    file: str | None
    line: int | None


class ClassError(BaseModel):
    message: str = Field(description="The normalised error")
    example: str = Field(description="One student's message as the compiler wrote it")
    count: int = Field(description="How many bots have this error now")
    bots: list[ErrorBot]


class ErrorMap(BaseModel):
    total: int = Field(description="Bots in the class")
    clean: int = Field(description="Bots whose latest compile is clean")
    failing: int = Field(description="Bots whose latest compile failed")
    never_compiled: int
    errors: list[ClassError] = Field(description="Distinct errors, most common first")


class ErrorMapReply(Reply, ErrorMap):
    name: str


class ClassDashboard(Dashboard):
    name: str
    archived: bool
    offline_after_s: int = Field(description="A bot is offline after this much silence (WEBIDE_DEVICE_OFFLINE_S)")
    errors: ErrorMap


class SeriesQuery(BaseModel):
    newest: int = Field(120, ge=1, le=5000, description="At most this many samples per bot (the newest)")


class SensorSample(BaseModel):
    ts: int = Field(description="Server time of the heartbeat (ms since the epoch)")
    values: dict[str, float | int] = Field(description="Every numeric field of the heartbeat")


class SeriesReply(Reply):
    name: str
    available: bool = Field(description="false while the event store (Redis) cannot be reached")
    retention_s: int
    series: dict[str, list[SensorSample]] = Field(description="Product ID → samples, oldest first")


class DeviceSearch(BaseModel):
    q: Annotated[str, Field(max_length=64)] | None = Field(None, description="Part of a product ID, name or class")


class ProvisioningRequest(RequestBody):
    confirm_reflash: StrictBool = Field(False, description="A bot must confirm that it will be re-flashed")


class UserSummary(BaseModel):
    id: int
    username: str
    role: Literal["admin", "instructor"]
    blocked: bool
    created_at: str | None
    classes: list[str]


class UserList(Reply):
    users: list[UserSummary]


class UserCreate(RequestBody):
    username: Username
    role: Literal["admin", "instructor"]
    password: Secret | None = Field(None, description="Omitted: a password is generated and returned once")


class UserCreated(Reply, UserSummary):
    password: str | None = Field(description="The generated password (shown once)")


class ActivityQuery(BaseModel):
    actor: Annotated[str, Field(max_length=64)] | None = None
    target: Annotated[str, Field(max_length=64)] | None = None
    action: Annotated[str, Field(max_length=48)] | None = Field(None, description="e.g. login.failed, or class")
    since: datetime | None = Field(None, description="ISO 8601; without a zone: UTC")
    until: datetime | None = None
    before: Annotated[int, Field(ge=1, le=MAX_ROW_ID)] | None = Field(
        None, description="Page: entries older than this id"
    )
    limit: Annotated[int, Field(ge=1, le=500)] = 100


class ActivityEntry(BaseModel):
    id: int
    time: str | None
    actor_kind: str
    actor: str
    action: str
    target_kind: str
    target: str
    class_name: str | None
    client_address: str | None
    details: dict[str, Any]


class ActivityList(Reply):
    entries: list[ActivityEntry]
    next_before: int | None = Field(description="Pass as before= for the next page")


class ClassPush(RequestBody):
    files: SketchFiles
    main: Annotated[StrictStr, Field(max_length=MAX_FILE_NAME)] | None = Field(
        None, description="Which file is the main sketch file (renamed per bot)"
    )
    deploy: StrictBool = True
    mode: Literal["replace", "add", "untouched"] = Field(
        "untouched",
        description="How the sketch is handed out (see the assignments API): by default only bots whose sketch is "
        "still their starter or the previous hand-out get it, so no student's work is replaced",
    )


class QueuedForBot(BaseModel):
    product_id: str
    update_id: str
    revision: int


class ClassQueued(Reply):
    builds: list[QueuedForBot]
    skipped: list[BotHandout] = Field(default_factory=list, description="Bots left unchanged, and why")


# --- assignments, class flash, freeze and revert -----------------------------------------------------------------

HandoutMode = Literal["replace", "add", "untouched"]
FreezeState = Literal["open", "frozen", "exam"]
UpdateId = Annotated[StrictStr, Field(min_length=1, max_length=32, pattern="^[0-9a-f]+$")]


class BotHandout(BaseModel):
    product_id: str
    action: Literal["replace", "add", "skip"]
    revision: int = Field(description="The bot's newest revision before the hand-out")
    added: list[str] = Field(description="Files the bot's sketch gains")
    removed: list[str] = Field(description="Files no longer in the sketch (they stay in its history)")
    kept: list[str] = Field(description="Starter files not added because the sketch already has a file of that name")
    reason: str


class AssignmentSummary(BaseModel):
    id: int
    title: str
    main: str
    files: list[str]
    source: Literal["editor", "example", "zip"]
    created_by: str
    created_at: datetime | None


class AssignmentCreate(RequestBody):
    title: Annotated[Text, Field(min_length=1, max_length=80)]
    source: Literal["editor", "example"] = Field(
        description="editor: the current sketch of the bot product_id; example: the File → Examples entry example_id"
    )
    product_id: Annotated[StrictStr, Field(max_length=64)] | None = None
    example_id: Annotated[StrictStr, Field(max_length=64)] | None = None


class AssignmentReply(Reply):
    assignment: AssignmentSummary


class GoldenCandidate(BaseModel):
    update_id: str
    product_id: str
    revision: int
    requested_by: str
    created_at: datetime | None


class ConsoleReply(Reply):
    name: str
    freeze: FreezeState
    freeze_states: dict[str, str]
    golden_build_id: str | None
    builds: list[GoldenCandidate] = Field(description="The class's newest builds that produced firmware")
    modes: dict[str, str]
    assignments: list[AssignmentSummary]


class HandoutRequest(RequestBody):
    mode: HandoutMode


class HandoutReply(Reply):
    preview: bool
    changed: int = Field(description="How many bots get a new revision")
    bots: list[BotHandout]


class FlashedBot(BaseModel):
    product_id: str
    update_id: str
    revision: int
    compiled_by: str | None = Field(description="The build that compiles for this bot when it is not its own")


class ClassFlashReply(Reply):
    compiles: int = Field(description="Distinct (sketch, board) pairs: how many compiles the flash costs")
    builds: list[FlashedBot]


class FreezeRequest(RequestBody):
    state: FreezeState


class FreezeReply(Reply):
    freeze: FreezeState
    message: str


class GoldenRequest(RequestBody):
    update_id: UpdateId


class GoldenReply(Reply):
    golden_build_id: str


class RevertRequest(RequestBody):
    update_id: UpdateId | None = Field(None, description="The build to go back to; the class's golden build if absent")


class RevertedBot(BaseModel):
    product_id: str
    reverted: bool
    reason: str


class RevertReply(Reply):
    update_id: str
    bots: list[RevertedBot]


# --- the device path ----------------------------------------------------------------------------------------------


class Manifest(BaseModel):
    updateAvailable: bool = Field(description="The bot does not run its target image")
    latestVersion: str | None = Field(description="The target's release version, else its build number")
    currentVersion: str | None = Field(description="What the bot last said it runs")
    url: str | None = Field(description="Signed firmware URL, valid WEBIDE_SIGNED_URL_TTL_S seconds, for this image")
    md5: Md5 | None
    sha256: Sha256 | None
    size: int | None
    signature: str | None = Field(
        None, description="base64 ECDSA P-256 signature (r || s) over the image's SHA-256; the public key is in the kit"
    )


class StatusReport(RequestBody):
    """At most 8 KiB."""

    status: Literal["STARTED", "IN_PROGRESS", "SUCCESS", "FAILED"]
    progress: Annotated[StrictInt, Field(ge=0, le=100)] | None = None
    message: Annotated[
        StrictStr, Field(max_length=300, description="Why it failed; containing 'rolled back' marks a rollback")
    ] = ""


class Heartbeat(RequestBody):
    """At most 8 KiB; NaN and Infinity are refused. Other numeric fields are kept as sensor readings (up to 32)."""

    model_config = ConfigDict(strict=True, extra="allow")

    fw: Annotated[StrictStr, Field(max_length=64, description="Firmware version the bot runs")] | None = None
    md5: Annotated[StrictStr, Field(pattern="^[0-9a-fA-F]{32}$", description="MD5 of the running sketch")] | None = None
    sha256: (
        Annotated[
            StrictStr,
            Field(pattern="^[0-9a-fA-F]{64}$", description="SHA-256 of the running sketch (or its appended digest)"),
        ]
        | None
    ) = None
    heap: Annotated[StrictInt, Field(ge=0, description="Free heap in bytes")] | None = None
    uptime: Annotated[StrictInt, Field(ge=0, description="Seconds since boot")] | None = None
    rssi: Annotated[StrictInt, Field(ge=-200, le=50, description="Wi-Fi signal in dBm")] | None = None
    ip: Annotated[StrictStr, Field(max_length=45, description="IPv4 or IPv6 address")] | None = None
    mac: Annotated[StrictStr, Field(pattern="^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")] | None = None
    rolled_back: StrictBool = Field(False, description="The bootloader returned to the previous image")


class StatusReply(Reply):
    state: str | None
    progress: int | None


class WireCommand(BaseModel):
    """What the bot receives on ``devices/<id>/command`` or in its heartbeat reply: the arguments are top-level
    fields (``state`` for led/relay, ``seconds`` for identify)."""

    model_config = ConfigDict(extra="allow")

    id: str
    command: str


class HeartbeatReply(Reply):
    update_available: bool
    commands: list[WireCommand] = Field(
        default_factory=list,
        description="Commands to run (for bots without MQTT), as many as fit the agent's 2 KiB reply; answer each at "
        "…/results",
    )
    mqtt: str | None = Field(
        default=None,
        description="The live link's broker as bots reach it (mqtt[s]://host:port; log in with the product ID and "
        "device token); absent when the server has none a bot could use",
    )


# --- the live device link -----------------------------------------------------------------------------------------


class CommandRequest(RequestBody):
    """``led``/``relay``: ``{"state": "on"|"off"|"toggle"}`` (true/false and "ON"/"OFF" too); ``identify``:
    ``{"seconds": 1-60}`` (default 5); ``serial``: ``{"line": "…"}``, one line for the sketch's Serial input (at
    most 256 bytes of UTF-8, no control characters; the bot adds the newline); the others take no arguments."""

    command: Literal[COMMANDS]  # type: ignore[valid-type]
    args: dict[str, Any] = Field(default_factory=dict)


class CommandView(BaseModel):
    id: str
    product_id: str
    command: str
    args: dict[str, Any]
    state: Literal["pending", "sent", "acked", "done", "failed", "timed_out"] = Field(
        description="pending → sent → acked → done or failed; timed_out when not finished before expires_at"
    )
    message: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


class CommandReply(Reply):
    command: CommandView


class ClassCommandReply(Reply):
    commands: list[CommandView] = Field(description="One per bot of the class that is not blocked")


class CommandResult(RequestBody):
    """The bot's answer to a command (the same as on ``devices/<id>/result``)."""

    id: Annotated[StrictStr, Field(min_length=1, max_length=32)]
    state: Literal[RESULT_STATES]  # type: ignore[valid-type]
    message: Annotated[StrictStr, Field(max_length=300)] = ""


class LogBatch(RequestBody):
    """Serial output lines of a bot without MQTT (at most 16 KiB per request)."""

    lines: Annotated[list[StrictStr], Field(max_length=MAX_LINES_PER_MESSAGE)]


class LogBatchReply(Reply):
    accepted: int = Field(description="Lines passed on; the rest were over the bot's lines-per-second budget")


# --- fleet: firmware releases -------------------------------------------------------------------------------------


class ReleaseSummary(BaseModel):
    """A release with the metadata of where its image came from."""

    version: str = Field(description="Semantic version, e.g. 1.4.0 or 2.0.0-beta.1")
    channel: Literal["stable", "beta"]
    chip: str = Field(description="The chip the image is built for (esptool's name, from the image itself)")
    board: str | None = Field(description="The board named when it was published")
    notes: str
    size: int
    md5: Md5
    sha256: Sha256
    build_id: str | None = Field(description="The build it was promoted from")
    build_number: int | None
    source_revision: str | None
    created_by: str
    created_at: datetime
    blocked: bool = Field(description="Never served again; its bots moved to the newest good release")
    blocked_reason: str | None
    blocked_at: datetime | None
    signature: str | None = Field(None, description="Base64 ECDSA P-256 signature (r || s) over the image's SHA-256")


class ReleaseReply(Reply):
    release: ReleaseSummary


class ReleaseList(Reply):
    releases: list[ReleaseSummary]


class ReleaseQuery(BaseModel):
    channel: Literal["stable", "beta"] | None = None


VersionText = Annotated[StrictStr, Field(min_length=1, max_length=64, description="Semantic version, e.g. 1.4.0")]


class ReleasePromotion(RequestBody):
    """A successful build of a bot the caller manages becomes a release."""

    build: Annotated[StrictStr, Field(min_length=1, max_length=32, description="The build's update_id")]
    version: VersionText
    channel: Literal["stable", "beta"] = "stable"
    notes: Annotated[Text, Field(max_length=4000)] = ""
    source_revision: Annotated[Text, Field(max_length=64)] = ""


class ReleaseBlock(RequestBody):
    blocked: StrictBool
    reason: Annotated[Text, Field(max_length=300)] = ""


class MovedBot(BaseModel):
    product_id: str
    version: str | None = Field(description="The release it now targets; null: no good release, it keeps its image")


class ReleaseBlockReply(ReleaseReply):
    moved: list[MovedBot]


class OtaStart(RequestBody):
    """Exactly one of ``version`` (a release) or ``build`` (a successful build's update_id)."""

    version: VersionText | None = None
    build: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None

    @model_validator(mode="after")
    def exactly_one(self) -> OtaStart:
        if (self.version is None) == (self.build is None):
            raise ValueError("Send exactly one of version or build")
        return self


class OtaUpdateStatus(Reply):
    product_id: str
    status: Literal["STARTED", "IN_PROGRESS", "SUCCESS", "FAILED"] | None = Field(
        description="STARTED: waiting for the bot's button; IN_PROGRESS: downloading or rebooting; SUCCESS: the bot "
        "reports running the image; FAILED: failed or rolled back"
    )
    state: Literal[FLASH_STATES] | None = Field(description="The flash state behind the status")  # type: ignore[valid-type]
    progress: int
    message: str
    version: str | None = Field(description="The release version, or the deployment number of a build")
    build: str | None


class SeedQueued(Reply):
    """Seed 002's answer: follow it on /ota-update-progress/{update_id}."""

    update_id: str
    message: str
    status: Literal["pending"]
    progress: int


# --- fleet: staged rollouts ---------------------------------------------------------------------------------------


class RolloutTargets(RequestBody):
    """Which bots: a class, a list, or every bot the caller manages — narrowed by the optional filters."""

    class_name: Annotated[StrictStr, Field(min_length=1, max_length=64)] | None = None
    product_ids: (
        Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=64)]], Field(max_length=2000)] | None
    ) = None
    board: Fqbn | None = None
    online: StrictBool | None = None
    running_version: Annotated[StrictStr, Field(max_length=64)] | None = None


class RolloutGroups(RequestBody):
    """Exactly one of: a number of groups, percentages adding up to 100, or lists of product IDs."""

    count: Annotated[StrictInt, Field(ge=1, le=20)] | None = None
    percentages: (
        Annotated[list[Annotated[StrictInt, Field(ge=1, le=100)]], Field(min_length=1, max_length=20)] | None
    ) = None
    lists: (
        Annotated[list[list[Annotated[StrictStr, Field(max_length=64)]]], Field(min_length=1, max_length=20)] | None
    ) = None


class RolloutCreate(RequestBody):
    name: Annotated[Text, Field(max_length=120)] = ""
    version: VersionText | None = None
    build: Annotated[StrictStr, Field(min_length=1, max_length=32)] | None = None
    targets: RolloutTargets
    groups: RolloutGroups
    success_threshold: Annotated[StrictInt, Field(ge=1, le=100, description="% of a group confirmed running")]
    error_threshold_count: Annotated[StrictInt, Field(ge=1, le=100000)] | None = None
    error_threshold_percent: Annotated[StrictInt, Field(ge=1, le=100)] | None = None
    silence_s: Annotated[StrictInt, Field(ge=10, le=86400, description="silent this long after download = failed")] = (
        600
    )


class RolloutBot(BaseModel):
    product_id: str
    state: Literal["pending", "updating", "succeeded", "failed", "left"]
    reason: str | None


class RolloutGroup(BaseModel):
    number: int
    size: int
    pending: int
    updating: int
    succeeded: int
    failed: int
    left: int
    bots: list[RolloutBot]


class RolloutSummary(BaseModel):
    id: int
    name: str
    state: Literal["ready", "running", "paused", "done", "cancelled"]
    current_group: int
    paused_reason: str | None
    sha256: Sha256
    build_id: str | None
    success_threshold: int
    error_threshold_count: int | None
    error_threshold_percent: int | None
    silence_s: int
    created_by: str
    created_at: datetime
    groups: list[RolloutGroup]


class RolloutReply(Reply):
    rollout: RolloutSummary


class RolloutList(Reply):
    rollouts: list[RolloutSummary]
