"""Typed settings, read once from the environment (prefix HINDFOOT_) or passed in by tests."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"


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

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "hindfoot clinic <no-reply@hindfoot.local>"

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
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
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
