"""E-mail through the notification outbox: enqueue in the caller's transaction, send after it.

``enqueue_email`` adds a ``notification_outbox`` row in the same transaction as its cause (an
invitation, a password reset): no mail for a change that was rolled back, no lost mail for one
that was committed. ``NotificationSender`` delivers due rows through SMTP (``smtplib``):

* right after a commit that enqueued mail (``after_commit`` wakes its thread) and every
  ``retry_interval_s`` seconds (the server's background loop, a daemon thread like
  ``app/geo/jobs.py``); tests and scripts call ``send_pending`` directly;
* rows are claimed first (``next_attempt_at`` moves a lease ahead, committed, ``FOR UPDATE
  SKIP LOCKED`` on PostgreSQL), then sent, so several workers never send the same row twice;
* a failure counts an attempt and retries with exponential backoff (1 minute doubling, up to
  6 hours); after ``MAX_ATTEMPTS`` the row is given up; ``last_error`` says why;
* once delivered, ``sent_at`` is set and the body erased (it holds a one-time link); delivered
  and given-up rows are deleted after ``RETENTION`` (``purge``).

Logs name rows by id and kind only: never a body (one-time links), never a recipient.
With mail disabled (``SMTP_ENABLED``, off by default in development) rows stay pending and the
sender says so once.
"""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import urlencode

from sqlalchemy import and_, delete, func, or_
from sqlmodel import Session, col, select

from app.core.config import Environment, Settings
from app.core.models import utcnow
from app.notifications.models import Notification

logger = logging.getLogger(__name__)

PENDING = "mail_pending"  # session.info flag: this transaction enqueued mail
BATCH = 20
LEASE = timedelta(minutes=10)  # a claimed row is retried after this when its worker died
FIRST_BACKOFF = timedelta(minutes=1)
MAX_BACKOFF = timedelta(hours=6)
MAX_ATTEMPTS = 20  # about three days of retries, then the row is given up
RETENTION = timedelta(days=30)
PURGE_EVERY = timedelta(hours=1)

SessionFactory = Callable[[], Session]
SmtpFactory = Callable[[Settings], smtplib.SMTP]


def mail_enabled(settings: Settings) -> bool:
    """``SMTP_ENABLED``; when unset: off in development (``make run`` never mails), on
    elsewhere."""
    if settings.smtp_enabled is not None:
        return settings.smtp_enabled
    return settings.environment is not Environment.development


def public_link(settings: Settings, path: str, **query: str) -> str:
    """An absolute link to the web application for a mail (``PUBLIC_BASE_URL`` + path)."""
    base = settings.public_base_url.rstrip("/")
    return f"{base}/{path.lstrip('/')}" + (f"?{urlencode(query)}" if query else "")


def enqueue_email(
    session: Session, kind: str, recipient: str, subject: str, body: str
) -> Notification:
    """Add a plain-text mail to the outbox in the caller's transaction; it is sent after the
    commit (``NotificationSender.after_commit``)."""
    row = Notification(kind=kind, recipient=recipient, subject=subject, body=body)
    session.add(row)
    session.flush()
    session.info[PENDING] = True
    return row


def pending_count(*, session: Session) -> int:
    """Rows that still wait for delivery (given-up rows not included)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                col(Notification.sent_at).is_(None),
                col(Notification.attempts) < MAX_ATTEMPTS,
            )
        ).one()
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure: 1, 2, 4, … minutes, at most 6 hours."""
    return min(FIRST_BACKOFF * (1 << min(max(attempts - 1, 0), 16)), MAX_BACKOFF)


def describe_error(exc: BaseException) -> str:
    """What went wrong, for ``last_error`` and the log: SMTP codes and the exception type,
    without addresses (a refused recipient's address is the dict key of its exception)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = ", ".join(str(code) for code, _msg in exc.recipients.values())
        return f"SMTPRecipientsRefused: ontvanger geweigerd ({codes})"
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error
        text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


def _connection_lost(exc: BaseException) -> bool:
    """True when the connection is unusable for the remaining rows of the batch (every SMTP
    error is an ``OSError`` too: only socket errors and disconnects count)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421  # service not available, closing the channel
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def default_smtp(settings: Settings) -> smtplib.SMTP:
    """An open, authenticated SMTP connection as configured (``SMTP_*``)."""
    smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
    try:
        smtp.ehlo()
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
    except BaseException:
        smtp.close()
        raise
    return smtp


def build_message(settings: Settings, row: Notification) -> EmailMessage:
    """A plain-text UTF-8 mail: no HTML, no images, nothing that tracks the reader."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(utcnow())
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(row.body)
    return message


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    disabled: bool = False


class NotificationSender:
    """Delivers the outbox through SMTP: after commits that enqueued mail and periodically."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessions: SessionFactory,
        smtp_factory: SmtpFactory = default_smtp,
        retry_interval_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.smtp_factory = smtp_factory
        self.retry_interval_s = retry_interval_s
        self._queue: queue.Queue[bool] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._said_disabled = False
        self._last_purge: datetime | None = None

    # --- the server's loop ------------------------------------------------------------------

    def after_commit(self, session: Session) -> None:
        """An after-commit hook: wake the loop when this transaction enqueued mail."""
        if session.info.pop(PENDING, False):
            self._queue.put(True)

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="mail", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(False)
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            try:
                wake = self._queue.get(timeout=self.retry_interval_s)
            except queue.Empty:
                wake = True
            if not wake:
                return
            try:
                self.send_pending()
                now = utcnow()
                if self._last_purge is None or now - self._last_purge >= PURGE_EVERY:
                    self.purge()
                    self._last_purge = now
            except Exception:
                logger.exception("sending mail failed; the outbox keeps it for a retry")

    # --- the work ----------------------------------------------------------------------------

    @contextmanager
    def _session(self, given: Session | None) -> Iterator[Session]:
        if given is not None:
            yield given
            return
        with self.sessions() as session:
            yield session

    def send_pending(self, *, session: Session | None = None, limit: int = 1000) -> SendReport:
        """Send the rows that are due, in batches; failures stay for a later attempt. Never
        raises for SMTP trouble. ``session``: use this session (tests) instead of the
        factory's; it is committed."""
        report = SendReport()
        if not mail_enabled(self.settings):
            report.disabled = True
            if not self._said_disabled:
                self._said_disabled = True
                with self._session(session) as s:
                    waiting = pending_count(session=s)
                logger.info(
                    "e-mail is disabled (SMTP_ENABLED=false): %d message(s) wait in the outbox",
                    waiting,
                )
            return report
        while report.sent + report.failed < limit:
            with self._session(session) as s:
                rows = self._claim(s, min(BATCH, limit - report.sent - report.failed))
                if not rows:
                    break
                connection_failed = self._deliver(s, rows, report)
            if connection_failed:
                break
        return report

    def _claim(self, session: Session, limit: int) -> list[Notification]:
        """Due rows, leased to this worker (committed before anything is sent)."""
        now = utcnow()
        statement = (
            select(Notification)
            .where(
                col(Notification.sent_at).is_(None),
                col(Notification.attempts) < MAX_ATTEMPTS,
                col(Notification.next_attempt_at) <= now,
            )
            .order_by(col(Notification.next_attempt_at), col(Notification.id))
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        if session.get_bind().dialect.name == "postgresql":
            statement = statement.with_for_update(skip_locked=True)
        rows = list(session.exec(statement))
        for row in rows:
            row.next_attempt_at = now + LEASE
            session.add(row)
        session.commit()
        return rows

    def _deliver(self, session: Session, rows: list[Notification], report: SendReport) -> bool:
        """Send the claimed rows over one connection and record each outcome; True when the
        SMTP server could not be used (the rest waits for the next round)."""
        smtp: smtplib.SMTP | None = None
        lost: BaseException | None = None
        try:
            try:
                smtp = self.smtp_factory(self.settings)
            except Exception as exc:
                lost = exc
            for row in rows:
                if lost is not None or smtp is None:
                    self._failed(row, lost or ConnectionError("geen verbinding"), report)
                    continue
                try:
                    smtp.send_message(build_message(self.settings, row))
                except Exception as exc:
                    self._failed(row, exc, report)
                    if _connection_lost(exc):
                        lost = exc
                    continue
                row.sent_at = utcnow()
                row.body = ""  # it held a one-time link
                row.last_error = None
                session.add(row)
                report.sent += 1
                logger.info("mail %s (%s) sent", row.id, row.kind)
            for row in rows:
                session.add(row)
            session.commit()
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except Exception:
                    smtp.close()
        if lost is not None:
            logger.warning(
                "SMTP server %s:%s not usable (%s); %d mail(s) wait for a retry",
                self.settings.smtp_host,
                self.settings.smtp_port,
                describe_error(lost),
                len(rows),
            )
        return lost is not None

    @staticmethod
    def _failed(row: Notification, exc: BaseException, report: SendReport) -> None:
        row.attempts += 1
        row.last_error = describe_error(exc)
        row.next_attempt_at = utcnow() + backoff(row.attempts)
        if row.attempts >= MAX_ATTEMPTS:
            row.body = ""  # given up: the link must not linger
            row.last_error = f"opgegeven na {row.attempts} pogingen; {row.last_error}"[:1000]
            logger.error("mail %s (%s) given up: %s", row.id, row.kind, row.last_error)
        else:
            logger.warning(
                "mail %s (%s) not sent (attempt %d): %s",
                row.id,
                row.kind,
                row.attempts,
                row.last_error,
            )
        report.failed += 1

    def purge(self, *, session: Session | None = None, now: datetime | None = None) -> int:
        """Delete rows delivered (or given up) more than ``RETENTION`` ago (AVG: keep no
        addresses longer than needed)."""
        cutoff = (now or utcnow()) - RETENTION
        with self._session(session) as s:
            result = s.execute(
                delete(Notification).where(
                    or_(
                        col(Notification.sent_at) < cutoff,
                        and_(
                            col(Notification.sent_at).is_(None),
                            col(Notification.attempts) >= MAX_ATTEMPTS,
                            col(Notification.next_attempt_at) < cutoff,
                        ),
                    )
                )
            )
            s.commit()
        deleted = int(getattr(result, "rowcount", 0) or 0)
        if deleted:
            logger.info("purged %d delivered mail(s) older than %d days", deleted, RETENTION.days)
        return deleted
