"""Password hashing with argon2id, its cost from the settings, and a bound on how many hashes run at once.

The parameters default to RFC 9106's second recommended option (argon2-cffi's defaults: 3 passes,
64 MiB, 4 lanes), above OWASP's minimum (19 MiB, 2 passes, 1 lane); `HINDFOOT_PASSWORD_HASH_*`
changes them, and an account's hash is upgraded to the current parameters at its next sign-in.

Each hash takes tens of MiB and a fraction of a CPU second on purpose. Fifty at once would take
gigabytes and finish together after many seconds, so at most `password_hash_concurrency` hashes
(default: the CPU count) run at a time in a process and the others wait their turn in arrival
order (`turn`). A wait longer than the request queue time raises `Busy` (503 with Retry-After); a
sign-in's, longer than the sign-in queue time, is refused 429 by the sign-in itself.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hindfoot.errors import Busy
from hindfoot.settings import Settings, get_settings


@dataclass(frozen=True)
class HashCost:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4

    @classmethod
    def from_settings(cls, settings: Settings) -> HashCost:
        return cls(settings.password_hash_time_cost, settings.password_hash_memory_kib,
                   settings.password_hash_parallelism)


class _Hashing:
    """The process's hasher, its gate and the dummy hash that unknown emails are verified against."""

    def __init__(self, cost: HashCost, concurrency: int, wait_seconds: float, sign_in_wait_seconds: float) -> None:
        self.cost = cost
        self.hasher = PasswordHasher(time_cost=cost.time_cost, memory_cost=cost.memory_kib,
                                     parallelism=cost.parallelism)
        self.concurrency = concurrency
        self.gate = threading.BoundedSemaphore(concurrency)
        self.wait_seconds = wait_seconds
        self.sign_in_wait_seconds = sign_in_wait_seconds
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def dummy_hash(self) -> str:
        with self._dummy_lock:  # computed on first use, at the current cost: an unknown email costs as much as a known one
            if self._dummy is None:
                self._dummy = self.hasher.hash("not-a-real-password")
            return self._dummy


_current: _Hashing | None = None
_configure_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Use `settings`' cost and concurrency from now on (the app does this at start-up)."""
    global _current
    cost = HashCost.from_settings(settings)
    concurrency = settings.password_hash_concurrency or max(1, os.cpu_count() or 1)
    with _configure_lock:
        if (_current is None or _current.cost != cost or _current.concurrency != concurrency
                or _current.wait_seconds != settings.request_queue_seconds
                or _current.sign_in_wait_seconds != settings.sign_in_queue_seconds):
            _current = _Hashing(cost, concurrency, settings.request_queue_seconds, settings.sign_in_queue_seconds)


def _hashing() -> _Hashing:
    if _current is None:
        configure(get_settings())
    assert _current is not None
    return _current


@contextmanager
def turn(*, busy: Callable[[], Exception] | None = None, sign_in: bool = False,
         waited: float = 0.0) -> Iterator[None]:
    """Wait for this process's turn to compute an argon2 hash (a bounded number run at once). No turn
    within the queue time (`sign_in`: the sign-in queue time), less what the request has `waited`
    already, raises `busy()`, by default `Busy` (503 with Retry-After)."""
    h = _hashing()
    limit = h.sign_in_wait_seconds if sign_in else h.wait_seconds
    if not h.gate.acquire(timeout=max(0.05, limit - waited)):
        raise busy() if busy else Busy("the clinic's server is busy checking passwords: please try again in a moment")
    try:
        yield
    finally:
        h.gate.release()


def hash_password(password: str) -> str:
    with turn():
        return _hashing().hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    with turn():
        return _verify(password_hash, password)


def verify_unknown(password: str) -> None:
    """Spend what a real verification costs, for an email without an account (no timing difference)."""
    with turn():
        _verify(_hashing().dummy_hash(), password)


def verify_holding_turn(password_hash: str | None, password: str) -> bool:
    """`verify_password` for a caller already inside `turn()`; None verifies against the dummy hash."""
    if password_hash is None:
        _verify(_hashing().dummy_hash(), password)
        return False
    return _verify(password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hashing().hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hashing().hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
