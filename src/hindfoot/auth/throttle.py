"""Sign-in throttling (pure): after too many failed sign-ins for one email, or from one source address,
refuse that email (or address) for a while. The address counter stops one address trying one password
against every account.

Keyed by the email as typed (trimmed, lower-cased), whether or not an account has it, so a refusal
tells an attacker nothing about which emails exist. The lock applies to the right password too:
otherwise guessing could simply go on until it succeeds. A successful sign-in clears the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # failed sign-ins within `window` that lock the email
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)
    max_failures_per_address: int = 20  # failed sign-ins (any emails) from one source address that lock it

    def for_key(self, key: str) -> ThrottlePolicy:
        """The policy for one counter: an address key counts up to `max_failures_per_address`."""
        if key.startswith(ADDRESS_PREFIX):
            return ThrottlePolicy(self.max_failures_per_address, self.window, self.lockout,
                                  self.max_failures_per_address)
        return self


@dataclass(frozen=True)
class Failures:
    """The failed sign-ins of one email: how many since `first_at`, and the lock they caused."""

    count: int
    first_at: datetime
    locked_until: datetime | None = None


ADDRESS_PREFIX = "IP:"  # upper case: an email key is lower-cased, so none can look like an address key


def email_key(email: str) -> str:
    return email.strip().lower()[:200]


def address_key(source_ip: str) -> str:
    """The counter of failed sign-ins from one source address, whichever emails they tried."""
    return ADDRESS_PREFIX + source_ip.strip()[:100]


def locked_until(failures: Failures | None, now: datetime) -> datetime | None:
    """When the email may try again, if it is locked now; else None."""
    if failures is None or failures.locked_until is None or failures.locked_until <= now:
        return None
    return failures.locked_until


def after_failure(failures: Failures | None, now: datetime, policy: ThrottlePolicy) -> Failures:
    """The count after one more failed sign-in at `now` (a count older than the window starts over)."""
    lock_ran_out = failures is not None and failures.locked_until is not None and failures.locked_until <= now
    if failures is None or lock_ran_out or now - failures.first_at >= policy.window:
        count, first_at = 1, now
    else:
        count, first_at = failures.count + 1, failures.first_at
    lock = now + policy.lockout if count >= policy.max_failures else None
    return Failures(count=count, first_at=first_at, locked_until=lock)


def without_attempt(failures: Failures, policy: ThrottlePolicy) -> Failures:
    """The count once an attempt counted in advance (`after_failure`, before its password was checked)
    turns out right: one fewer, and no lock unless the remaining failures still reach the limit."""
    count = max(0, failures.count - 1)
    lock = failures.locked_until if count >= policy.max_failures else None
    return Failures(count=count, first_at=failures.first_at, locked_until=lock)


def minutes_left(until: datetime, now: datetime) -> int:
    """Whole minutes until `until`, at least 1 (for messages)."""
    return max(1, -(-int((until - now).total_seconds()) // 60))
