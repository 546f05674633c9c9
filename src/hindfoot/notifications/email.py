"""Send email over SMTP with the standard library; settings come from the typed config.

Messages are built with `email.message.EmailMessage`; attachments (an iCalendar invite) ride along
as MIME parts. Sending is a side effect at the edge: callers build messages in pure code and hand
them here.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from hindfoot.settings import Settings


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "calendar"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


class EmailError(RuntimeError):
    """The SMTP server refused or could not be reached; the caller decides whether to retry."""


def build_message(settings: Settings, mail: OutgoingEmail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Message-ID"] = make_msgid(domain="hindfoot.local")
    msg.set_content(mail.text)
    if mail.html:
        msg.add_alternative(mail.html, subtype="html")
    for a in mail.attachments:
        msg.add_attachment(a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename, params=a.params)
    return msg


def send(settings: Settings, mail: OutgoingEmail, *, timeout: float = 10.0) -> str:
    """Send one message; returns its Message-ID. Raises EmailError on any SMTP failure."""
    msg = build_message(settings, mail)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise EmailError(f"could not send email to {mail.to} via {settings.smtp_host}:{settings.smtp_port}: {exc}") from exc
    return str(msg["Message-ID"])
