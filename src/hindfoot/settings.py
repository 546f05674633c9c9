"""Typed settings, read once from the environment (prefix HINDFOOT_) or passed in by tests."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"
SIGN_IN_CONNECTIONS = 8  # connections of the pool kept for the sign-in lane


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HINDFOOT_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///hindfoot.db",
        description="SQLAlchemy URL: SQLite file by default, postgresql+psycopg://... in production.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Database connections each server process keeps open.")
    db_max_overflow: int = Field(default=20, ge=0, le=500, description="Extra connections a process may open at a peak.")
    db_pool_timeout_seconds: float = Field(
        default=10, gt=0, le=120,
        description="How long a request waits for a free connection before it is answered 503 with Retry-After.",
    )
    max_concurrent_requests: int | None = Field(
        default=None, ge=1, le=10_000,
        description="Requests a process serves at once (default: pool size + overflow); the rest queue.",
    )
    request_queue_seconds: float = Field(
        default=30, gt=0, le=600,
        description="How long a request may queue for its turn before it is answered 503 with Retry-After.",
    )
    sign_in_concurrency: int = Field(
        default=64, ge=1, le=1000,
        description="Password sign-ins a process handles at once, in a lane of their own (a flood of sign-ins "
        "never holds the places of other requests); the rest queue for up to sign_in_queue_seconds. Most of "
        "them wait for a turn to hash, holding no database connection.",
    )
    sign_in_queue_seconds: float = Field(
        default=10, gt=0, le=120,
        description="How long a sign-in may queue for its lane before it is answered 429 with Retry-After "
        "(well inside a client's time-out, so a flood gets answers, not time-outs).",
    )
    password_hash_concurrency: int | None = Field(
        default=None, ge=1, le=256,
        description="Argon2 hashes or verifications a process computes at once (default: its CPU count); "
        "the rest wait their turn, so a flood cannot take all the memory (64 MiB each) or starve other requests.",
    )
    password_hash_time_cost: int = Field(default=3, ge=1, le=20, description="Argon2id passes (RFC 9106: 3).")
    password_hash_memory_kib: int = Field(
        default=65536, ge=8, le=4_194_304, description="Argon2id memory per hash in KiB (RFC 9106: 64 MiB).",
    )
    password_hash_parallelism: int = Field(default=4, ge=1, le=64, description="Argon2id lanes (RFC 9106: 4).")
    max_body_bytes: int = Field(
        default=1_000_000, ge=1024,
        description="Largest request body; a larger one is answered 413 before it is read.",
    )
    secret_key: str = DEV_SECRET
    session_max_age_seconds: int = Field(default=8 * 3600, ge=60, description="A session's absolute lifetime, however active.")
    session_idle_minutes_staff: int = Field(default=30, ge=1, description="Staff sessions end after this long without a request.")
    session_idle_minutes_patient: int = Field(default=120, ge=1, description="Patient sessions end after this long without a request.")
    cookie_secure: bool = False  # set true behind HTTPS in production
    base_url: str = "http://127.0.0.1:8000"
    clinic_timezone: str = "Europe/London"
    booking_cutoff_hours: int = Field(default=24, ge=0, description="Patients may cancel or move a visit online until this many hours before it.")
    login_max_failures: int = Field(default=5, ge=1, description="Failed sign-ins for one email that lock it.")
    login_lockout_minutes: int = Field(
        default=15, ge=1, description="How long a locked email waits; also the window in which failures count.",
    )
    login_max_failures_per_address: int = Field(
        default=20, ge=1, description="Failed sign-ins from one source address (any emails) that lock that address.",
    )
    mfa_required: bool | None = Field(
        default=None, description="Staff need a second factor unless their clinic says otherwise; unset: on in production.",
    )
    export_min_group: int = Field(
        default=5, ge=1,
        description="Registry CSV: each combination of age band, sex, sport, level, side and year is shared by at least this many rows.",
    )
    anonymous_check_days: int = Field(
        default=30, ge=1,
        description="Anonymous symptom checks untouched for this many days are deleted by `hindfoot interviews purge`.",
    )
    waitlist_offer_count: int = Field(
        default=3, ge=1, le=50,
        description="Waiting patients offered each freed time at once (by email; the first to claim it books it).",
    )
    waitlist_offer_hours: int = Field(
        default=12, ge=1, le=168,
        description="How long a waitlist offer stands (it ends sooner when the time itself is near).",
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "hindfoot clinic <no-reply@hindfoot.local>"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        # A production server with the published development secret would let anyone forge sessions.
        if self.environment == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("HINDFOOT_SECRET_KEY must be set to a random value of 32+ characters in production")
            if not self.cookie_secure:
                # Without Secure, the session cookie also travels over plain HTTP, where anyone on the path reads it.
                raise ValueError("HINDFOOT_COOKIE_SECURE must be true in production (serve over HTTPS)")
        return self

    @property
    def mfa_default(self) -> bool:
        """Whether staff need MFA in a clinic that has not chosen."""
        return self.mfa_required if self.mfa_required is not None else self.environment == "production"

    @property
    def general_concurrency(self) -> int:
        """Requests other than password sign-ins a process serves at once: by default the pool's connections
        less a few kept for sign-ins (a sign-in holds one only for a moment before and after hashing)."""
        if self.max_concurrent_requests is not None:
            return self.max_concurrent_requests
        kept = min(SIGN_IN_CONNECTIONS, self.sign_in_concurrency)
        return max(1, self.db_pool_size + self.db_max_overflow - kept)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
