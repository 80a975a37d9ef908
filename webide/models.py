"""Every database table of the service, in one place (SQLAlchemy 2.x declarative style)."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql import Select

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def iso(moment: datetime | None) -> str | None:
    moment = as_utc(moment)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class Role(str, enum.Enum):
    ADMIN = "admin"
    INSTRUCTOR = "instructor"


class User(UserMixin, db.Model):
    """A person: an admin or an instructor."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    classrooms: Mapped[list[Classroom]] = relationship(back_populates="instructor")

    kind = "user"

    def get_id(self) -> str:
        # The session version makes every existing session invalid after a password change.
        return f"user:{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.blocked

    @property
    def display_name(self) -> str:
        return self.username

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    def visible_devices(self) -> Select:
        """A query for the bots this person may see and act on."""
        query = select(Device).order_by(Device.product_id)
        if self.is_admin:
            return query
        return query.join(Classroom).where(Classroom.instructor_id == self.id)

    def can_access(self, device: Device) -> bool:
        return self.is_admin or (device.classroom is not None and device.classroom.instructor_id == self.id)


class Classroom(db.Model):
    __tablename__ = "classrooms"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    instructor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)  # read-only: no roster changes, no uploads
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # open | frozen (students may edit and Verify, not Upload) | exam (students may not even save)
    freeze: Mapped[str] = mapped_column(String(8), default="open")
    golden_build_id: Mapped[str | None] = mapped_column(String(32))  # the build a revert makes every bot's target

    instructor: Mapped[User | None] = relationship(back_populates="classrooms")
    devices: Mapped[list[Device]] = relationship(back_populates="classroom")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="classroom", cascade="all, delete-orphan")


class Assignment(db.Model):
    """A starter sketch handed out to a class; ``main`` names its main .ino (renamed after each bot's sketch)."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("classroom_id", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    classroom_id: Mapped[int] = mapped_column(ForeignKey("classrooms.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    main: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # editor|example|zip|push
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    classroom: Mapped[Classroom] = relationship(back_populates="assignments")


class Device(UserMixin, db.Model):
    """A bot: logs in with its product ID and password; the firmware uses a separate device token."""

    __tablename__ = "devices"
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    fqbn: Mapped[str] = mapped_column(String(120))
    classroom_id: Mapped[int | None] = mapped_column(ForeignKey("classrooms.id", ondelete="SET NULL"))
    password_hash: Mapped[str] = mapped_column(String(255))
    device_token_hash: Mapped[str] = mapped_column(String(64), index=True)
    # The same token as Mosquitto's password file holds it (PBKDF2-SHA512), made when the token is issued.
    mqtt_password_hash: Mapped[str | None] = mapped_column(String(160))
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    running_md5: Mapped[str | None] = mapped_column(String(32))
    running_sha256: Mapped[str | None] = mapped_column(String(64))
    running_version: Mapped[str | None] = mapped_column(String(64))
    telemetry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    wifi_ssid: Mapped[str | None] = mapped_column(String(64))
    wifi_password_encrypted: Mapped[str | None] = mapped_column(Text)
    target_artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"))
    build_counter: Mapped[int] = mapped_column(Integer, default=0)

    classroom: Mapped[Classroom | None] = relationship(back_populates="devices")
    target_artifact: Mapped[Artifact | None] = relationship(foreign_keys=[target_artifact_id])

    kind = "device"
    is_admin = False

    def get_id(self) -> str:
        return f"device:{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return not self.blocked

    @property
    def display_name(self) -> str:
        return self.product_id

    @property
    def class_name(self) -> str | None:
        return self.classroom.name if self.classroom else None

    def visible_devices(self) -> Select:
        return select(Device).where(Device.id == self.id)

    def can_access(self, device: Device) -> bool:
        return device.id == self.id


class ApiToken(db.Model):
    """A bearer token from `POST /api/auth/login`; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User | None] = relationship()
    device: Mapped[Device | None] = relationship()


class LoginThrottle(db.Model):
    """Failed-login counters (see `webide.core.security.LoginThrottler`): per account and address, per device
    cookie, per account for unknown clients, per address."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SketchRevision(db.Model):
    """One immutable snapshot of a bot's sketch; the newest is the current sketch."""

    __tablename__ = "sketch_revisions"
    __table_args__ = (UniqueConstraint("device_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    files: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16), default="save")  # see sketches.REVISION_KINDS
    message: Mapped[str] = mapped_column(String(200), default="")
    # a hand-out or push: the starter's files as this bot got them (its main file under the bot's name); in "add"
    # mode ``files`` is the student's sketch with the starter's new tabs, so the starter is kept apart
    starter: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Artifact(db.Model):
    """A published firmware image, content-addressed by SHA-256 under the artifacts folder."""

    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    fqbn: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BuildStatus(str, enum.Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    ERROR = "error"


def new_update_id() -> str:
    return uuid.uuid4().hex


class Build(db.Model):
    """One Verify (deploy=False) or Upload (deploy=True) request and its outcome."""

    __tablename__ = "builds"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_update_id)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    classroom_id: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer)
    fqbn: Mapped[str] = mapped_column(String(120))
    deploy: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=BuildStatus.PENDING.value, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(300), default="Queued")
    error: Mapped[str | None] = mapped_column(Text)
    diagnostics: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sizes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    log: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    artifact_id: Mapped[int | None] = mapped_column(ForeignKey("artifacts.id"))
    # a class flash compiles each distinct (sketch, board) once: the other bots' builds wait for that one
    compiled_by: Mapped[str | None] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    device: Mapped[Device] = relationship()
    artifact: Mapped[Artifact | None] = relationship()

    @property
    def finished(self) -> bool:
        return self.status in (BuildStatus.COMPLETE.value, BuildStatus.ERROR.value)


class Deployment(db.Model):
    """An artifact made a bot's target, and how far the bot got in flashing it."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    build_id: Mapped[str | None] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(24), default="waiting_for_button")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    artifact: Mapped[Artifact] = relationship()


class AuditEntry(db.Model):
    """One state-changing action: who did what to which account, bot or class, when and from where.

    Names are copied, not referenced, so the log outlives what it speaks of; ``classroom_id`` scopes an entry to the
    instructor of that class (entries without one are for admins only).
    """

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # user|device|system|anonymous
    actor_name: Mapped[str] = mapped_column(String(64), default="", index=True)
    action: Mapped[str] = mapped_column(String(48), index=True)
    target_kind: Mapped[str] = mapped_column(String(16), default="")  # user|device|class|""
    target_name: Mapped[str] = mapped_column(String(64), default="", index=True)
    classroom_id: Mapped[int | None] = mapped_column(Integer, index=True)
    client_address: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DeviceCommand(db.Model):
    """A command sent to a bot (over MQTT, or in its heartbeat reply) and how far it got.

    ``state``: pending (not yet handed to the bot) → sent → acked → done or failed; timed_out when the bot has not
    finished it by ``expires_at``.
    """

    __tablename__ = "device_commands"
    id: Mapped[int] = mapped_column(primary_key=True)
    command_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    command: Mapped[str] = mapped_column(String(16))
    args: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    message: Mapped[str] = mapped_column(String(300), default="")
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    device: Mapped[Device] = relationship()


class Release(db.Model):
    """A firmware image published as a named version (semver) on a channel, with the metadata of where it came from.

    A blocked release is never served again: the bots that targeted it move to the newest good release of its
    channel and chip.
    """

    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    chip: Mapped[str] = mapped_column(String(16))  # esptool's chip name: esp32, esp32s3, esp32c3 …
    board: Mapped[str] = mapped_column(String(120), default="")  # an FQBN, when the release names one
    channel: Mapped[str] = mapped_column(String(16), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"), index=True)
    build_id: Mapped[str | None] = mapped_column(String(32))
    build_number: Mapped[int | None] = mapped_column(Integer)
    source_revision: Mapped[str] = mapped_column(String(64), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str] = mapped_column(String(300), default="")
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    artifact: Mapped[Artifact] = relationship()


class ImageSignature(db.Model):
    """The detached signature of a published image (ECDSA P-256 over its SHA-256), made once with the server's key."""

    __tablename__ = "image_signatures"
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))  # first 16 hex digits of the public key's SHA-256
    signature: Mapped[str] = mapped_column(String(128))  # base64 of r || s (64 bytes)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Rollout(db.Model):
    """A staged update of many bots to one image, group by group, paused automatically on too many failures."""

    __tablename__ = "rollouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    artifact_id: Mapped[int] = mapped_column(ForeignKey("artifacts.id"))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    build_id: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="ready", index=True)  # ready|running|paused|done|cancelled
    current_group: Mapped[int] = mapped_column(Integer, default=0)  # 0 before start; groups are numbered from 1
    group_count: Mapped[int] = mapped_column(Integer)
    success_percent: Mapped[int] = mapped_column(Integer)  # of a group confirmed running before the next starts
    error_count: Mapped[int | None] = mapped_column(Integer)  # failures in a group that pause the rollout …
    error_percent: Mapped[int | None] = mapped_column(Integer)  # … or this share of the group
    silence_s: Mapped[int] = mapped_column(Integer)  # a bot silent this long after its download has failed
    paused_reason: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    artifact: Mapped[Artifact] = relationship()
    targets: Mapped[list[RolloutTarget]] = relationship(back_populates="rollout", order_by="RolloutTarget.id")


class RolloutTarget(db.Model):
    """One bot of a rollout: its group and how far it got (pending|updating|succeeded|failed)."""

    __tablename__ = "rollout_targets"
    __table_args__ = (UniqueConstraint("rollout_id", "device_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("rollouts.id", ondelete="CASCADE"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    group_number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    rollout: Mapped[Rollout] = relationship(back_populates="targets")
    device: Mapped[Device] = relationship()
