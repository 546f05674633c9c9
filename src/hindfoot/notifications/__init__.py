"""Outgoing messages: email over SMTP (reminders, confirmations, invites)."""
