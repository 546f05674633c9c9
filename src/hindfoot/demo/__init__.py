"""The demo clinic: a fictional organisation, staff and patients across the whole PAI pathway.

`hindfoot demo` loads it (idempotent); the login page lists `demo_accounts` when it is present.
Every demo account shares the password `DEMO_PASSWORD`.
"""

from hindfoot.demo.cast import DEMO_PASSWORD
from hindfoot.demo.loader import DemoSummary, demo_accounts, load_demo

__all__ = ["DEMO_PASSWORD", "DemoSummary", "demo_accounts", "load_demo"]
