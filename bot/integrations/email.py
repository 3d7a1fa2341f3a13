"""The templated email to support, over SMTP, with the post-mortem invitation attached."""

from __future__ import annotations

import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage

from bot.integrations import IntegrationError
from bot.playbook import EmailSettings


def send(
    settings: EmailSettings,
    subject: str,
    body: str,
    username: str | None,
    password: str | None,
    ics: str | None = None,
) -> str:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = ", ".join(settings.to)
    message["Subject"] = subject
    message.set_content(body)
    if ics:
        message.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename="postmortem.ics",
            params={"method": "REQUEST"},
        )
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if username and password:
                smtp.login(username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise IntegrationError(
            f"email to {', '.join(settings.to)} via {settings.smtp_host}:{settings.smtp_port} "
            f"failed: {type(exc).__name__}: {exc}"
        ) from None
    return f"email sent to {', '.join(settings.to)}"


def invitation(
    uid: str,
    title: str,
    start: datetime,
    minutes: int,
    description: str,
    organizer: str,
    stamp: datetime,
) -> str:
    """A minimal iCalendar VEVENT (RFC 5545) for the post-mortem."""

    def utc(instant: datetime) -> str:
        return instant.strftime("%Y%m%dT%H%M%SZ")

    end = start.timestamp() + minutes * 60
    end_dt = datetime.fromtimestamp(end, tz=start.tzinfo)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//warroom//rollback//EN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{utc(stamp)}",
        f"DTSTART:{utc(start)}",
        f"DTEND:{utc(end_dt)}",
        f"SUMMARY:{title}",
        "DESCRIPTION:" + description.replace("\n", "\\n").replace(",", "\\,"),
        f"ORGANIZER:mailto:{organizer}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"
