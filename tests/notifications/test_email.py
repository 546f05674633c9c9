from __future__ import annotations

import pytest
from smtp_server import free_port, smtp_server

from hindfoot.notifications.email import Attachment, EmailError, OutgoingEmail, send
from hindfoot.settings import Settings


def test_sends_over_smtp_with_calendar_attachment():
    with smtp_server() as (port, inbox):
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port)
        send(settings, OutgoingEmail(to="ada@example.org", subject="Your visit", text="See you soon",
                                     attachments=(Attachment("visit.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                                                             params={"method": "REQUEST"}),)))
    assert len(inbox) == 1
    msg = inbox[0]
    assert msg["To"] == "ada@example.org"
    assert msg["Subject"] == "Your visit"
    parts = {p.get_content_type(): p for p in msg.iter_parts()}
    assert "text/calendar" in parts
    assert parts["text/calendar"].get_content().startswith("BEGIN:VCALENDAR")


def test_unreachable_server_is_a_clear_error():
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port())
    with pytest.raises(EmailError, match=r"could not send email to ada@example\.org"):
        send(settings, OutgoingEmail(to="ada@example.org", subject="x", text="y"), timeout=2)
