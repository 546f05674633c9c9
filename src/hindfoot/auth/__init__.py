"""Accounts, passwords, sessions, CSRF, roles and per-object access policies."""
