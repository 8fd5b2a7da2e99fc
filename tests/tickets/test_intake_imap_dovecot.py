"""E-mail intake against a real IMAP server: Debian's Dovecot (package dovecot-imapd, installed
by `make system-packages`), started for these tests with a throwaway configuration in a
temporary directory — plain IMAP on a free port of 127.0.0.1, one passwd-file user, mail in a
temporary Maildir — and stopped afterwards. The real `imap_poll` reads it over imaplib.

Messages reach the mailbox both ways a server gets them: written into the Maildir's new/ as a
delivery agent would, and sent with IMAP APPEND as a mail client would."""

from __future__ import annotations

import base64
import contextlib
import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from medservice.tickets.choices import Channel, Status, TicketKind, TimelineKind
from medservice.tickets.intake_email import imap_poll
from medservice.tickets.models import Ticket, TimelineEntry
from medservice.tickets.services import ticket_acknowledge, ticket_wait

pytestmark = pytest.mark.django_db

USER = "service@medservice.local"
PASSWORD = "imap-test-secret"
FOLDER = "Service Requests"  # a name with a space: the poll must quote it
# A real 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
# Half an hour before the tests' "now" (tests.tickets.conftest.RECEIVED), Shanghai time.
SENT = "Mon, 02 Mar 2026 16:30:00 +0800"
STARTUP_SECONDS = 15


# --- the server -----------------------------------------------------------------------------------


@dataclass
class Dovecot:
    port: int
    maildir: Path
    uid: int
    gid: int

    def connect(self) -> imaplib.IMAP4:
        connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        connection.login(USER, PASSWORD)
        return connection

    def append(self, raw: bytes, folder: str = FOLDER) -> None:
        """Send a message as a mail client files one (IMAP APPEND), unseen."""
        connection = self.connect()
        try:
            status, data = connection.append(f'"{folder}"', None, None, raw)
            assert status == "OK", data
        finally:
            connection.logout()

    def deliver(self, raw: bytes) -> None:
        """Drop a message into the folder's Maildir new/ as a delivery agent does (written in
        tmp/, then renamed), owned by the mail user."""
        folder = self.maildir / f".{FOLDER}"
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.medservice-test"
        staged = folder / "tmp" / name
        staged.write_bytes(raw)
        os.chown(staged, self.uid, self.gid)
        staged.rename(folder / "new" / name)

    def flags(self) -> dict[str, set[str]]:
        """Each message's Message-ID and its flags, as the server has them now."""
        connection = self.connect()
        try:
            connection.select(f'"{FOLDER}"', readonly=True)
            status, data = connection.uid(
                "FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
            )
            assert status == "OK", data
            result = {}
            for item in data:
                if not isinstance(item, tuple):
                    continue
                flags = set(imaplib.ParseFlags(item[0]) or ())
                message_id = item[1].decode().split(":", 1)[1].strip()
                # \Recent only says which session saw it first; not the poll's business.
                result[message_id] = {flag.decode() for flag in flags} - {"\\Recent"}
            return result
        finally:
            connection.logout()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts() -> tuple[str, str, str, int, int]:
    """(login user, internal user, internal group, mail uid, mail gid). As root, Dovecot runs
    its parts as its own users (the package creates dovenull and dovecot) and the mail as
    nobody; as anyone else, everything runs as that user and group."""
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        return "dovenull", "dovecot", "dovecot", nobody.pw_uid, nobody.pw_gid
    me = getpass.getuser()
    return me, me, grp.getgrgid(os.getgid()).gr_name, os.getuid(), os.getgid()


def _configuration(root: Path, port: int) -> str:
    login_user, internal_user, internal_group, uid, gid = _accounts()
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    # The master stops its children on SIGTERM; the group kill catches any it left.
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )
    if binary is None:
        pytest.skip("Dovecot is not installed (make system-packages installs dovecot-imapd)")
    # Not under pytest's own temporary directory: that one is private (0700), and Dovecot's
    # login, auth and mail processes run as other users.
    root = Path(tempfile.mkdtemp(prefix="medservice-dovecot-"))
    root.chmod(0o755)
    try:
        yield from _served(binary, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _served(binary: str, root: Path) -> Iterator[Dovecot]:
    *_users, uid, gid = _accounts()
    for name in ("run", "state", "mail"):
        (root / name).mkdir()
    os.chown(root / "mail", uid, gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    maildir = root / "mail" / USER
    log = root / "dovecot.log"
    failure = ""
    for _attempt in range(3):  # another process may take the free port before Dovecot does
        port = _free_port()
        (root / "dovecot.conf").write_text(_configuration(root, port))
        process = subprocess.Popen(
            [binary, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline and process.poll() is None and not _listening(port):
            time.sleep(0.1)
        if process.poll() is None and _listening(port):
            break
        _stop(process)
        output = process.stdout.read().decode(errors="replace") if process.stdout else ""
        failure = (output + (log.read_text() if log.exists() else ""))[-1500:]
    else:
        pytest.skip(f"Dovecot could not be started: {failure.strip()}")
    server = Dovecot(port=port, maildir=maildir, uid=uid, gid=gid)
    try:
        connection = server.connect()
        status, data = connection.create(f'"{FOLDER}"')
        assert status == "OK", data
        connection.logout()
        yield server
    finally:
        _stop(process)
    assert not _listening(port), "Dovecot is still listening after the test"


@pytest.fixture
def mailbox_settings(settings, dovecot, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDSERVICE_IMAP_HOST = "127.0.0.1"
    settings.MEDSERVICE_IMAP_PORT = dovecot.port
    settings.MEDSERVICE_IMAP_SSL = False
    settings.MEDSERVICE_IMAP_USER = USER
    settings.MEDSERVICE_IMAP_PASSWORD = PASSWORD
    settings.MEDSERVICE_IMAP_FOLDER = FOLDER
    return dovecot


# --- the messages ---------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def fault_report(message_id: str) -> bytes:
    subject = base64.b64encode("ICU 监护仪黑屏故障".encode()).decode()
    name = base64.b64encode("钱丽华".encode()).decode()
    return crlf(f"""\
From: =?utf-8?b?{name}?= <QianLH@sy1.example.cn>
To: {USER}
Subject: =?utf-8?b?{subject}?=
Date: {SENT}
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64("ICU 3 床监护仪开机后黑屏，请派工程师。".encode())}
--outer
Content-Type: image/png; name="screen.png"
Content-Disposition: attachment; filename="screen.png"
Content-Transfer-Encoding: base64

{b64(PNG)}
--outer
Content-Type: application/octet-stream; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"
Content-Transfer-Encoding: base64

{b64(b"just some text, not a photo")}
--outer--
""")


def reply(message_id: str, in_reply_to: str) -> bytes:
    return crlf(f"""\
From: Qian <qianlh@sy1.example.cn>
To: {USER}
Subject: Re: something else entirely
Date: {SENT}
Message-ID: {message_id}
In-Reply-To: {in_reply_to}
References: {in_reply_to}
MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

The monitor now shows error E12 after the restart.

On Mon, 2 Mar 2026 at 16:30 service wrote:
> We have received your request.
""")


def auto_reply(message_id: str) -> bytes:
    return crlf(f"""\
From: someone@sy1.example.cn
To: {USER}
Subject: Out of office
Date: {SENT}
Message-ID: {message_id}
Auto-Submitted: auto-replied

I am away until Monday.
""")


# --- the tests ------------------------------------------------------------------------------------


def test_the_poll_reads_a_real_mailbox_registers_threads_and_takes_each_message_once(
    mailbox_settings, caller, hospital_a, agent, clock
):
    server = mailbox_settings
    # Given a fault report with a photo and a refused file, delivered into the Maildir, and an
    # out-of-office message sent by APPEND
    server.deliver(fault_report("<fault-1@sy1.example.cn>"))
    server.append(auto_reply("<away-1@sy1.example.cn>"))

    # When the mailbox job runs
    counts = imap_poll()

    # Then the report is a new request with its photo, the refusal written in its timeline,
    # and the auto-reply is not a request; both are marked seen on the server
    assert counts == {"created": 1, "ignored": 1}
    ticket = Ticket.objects.get()
    assert (ticket.channel, ticket.kind, ticket.number, ticket.contact, ticket.organization) == (
        Channel.EMAIL,
        TicketKind.REPAIR,
        "BX-2026-000001",
        caller,
        hospital_a,
    )
    assert (ticket.subject, ticket.email_message_id) == (
        "ICU 监护仪黑屏故障",
        "<fault-1@sy1.example.cn>",
    )
    photo = ticket.timeline.get(kind=TimelineKind.ATTACHMENT)
    assert (photo.attachment_name, photo.attachment_type) == ("screen.png", "image/png")
    assert photo.attachment.read() == PNG
    assert ticket.timeline.filter(data__refused_attachment="notes.txt").count() == 1
    assert server.flags() == {
        "<fault-1@sy1.example.cn>": {"\\Seen"},
        "<away-1@sy1.example.cn>": {"\\Seen"},
    }

    # When nothing new arrived, the next run takes nothing
    assert imap_poll() == {}

    # Given the agent waits for the customer, who replies (APPEND), and the same report
    # arrives a second time (a resend: same Message-ID, a new message on the server)
    ticket = ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
    ticket = ticket_wait(ticket=ticket, actor=agent, reason="customer", note="请发送报警代码")
    server.append(reply("<reply-1@sy1.example.cn>", in_reply_to="<fault-1@sy1.example.cn>"))
    server.deliver(fault_report("<fault-1@sy1.example.cn>"))

    # When the job runs again
    counts = imap_poll()

    # Then the reply is threaded onto the request and ends the wait; the resend creates nothing
    assert counts == {"threaded": 1, "duplicate": 1}
    assert Ticket.objects.count() == 1
    entry = TimelineEntry.objects.get(email_message_id="<reply-1@sy1.example.cn>")
    assert (entry.ticket_id, entry.kind, entry.customer_visible, entry.text) == (
        ticket.pk,
        TimelineKind.EMAIL_IN,
        True,
        "The monitor now shows error E12 after the restart.",
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED
    assert ticket.timeline.filter(kind=TimelineKind.ATTACHMENT).count() == 1
    flags = server.flags()
    assert flags["<reply-1@sy1.example.cn>"] == {"\\Seen"}
    assert flags["<fault-1@sy1.example.cn>"] == {"\\Seen"}  # both copies
    assert imap_poll() == {}


def test_a_message_that_fails_stays_unseen_and_is_taken_on_the_next_run(
    mailbox_settings, caller, clock, monkeypatch
):
    server = mailbox_settings
    server.append(fault_report("<fault-2@sy1.example.cn>"))
    server.append(reply("<other-3@sy1.example.cn>", in_reply_to="<unknown@x>"))
    from medservice.tickets import intake_email

    real_ingest = intake_email.email_ingest

    def ingest_failing_once(raw: bytes):
        if b"<fault-2@" in raw:
            raise ConnectionError("the database went away for a moment")
        return real_ingest(raw)

    monkeypatch.setattr(intake_email, "email_ingest", ingest_failing_once)
    assert imap_poll() == {"failed": 1, "created": 1}
    assert server.flags() == {
        "<fault-2@sy1.example.cn>": set(),
        "<other-3@sy1.example.cn>": {"\\Seen"},
    }

    monkeypatch.setattr(intake_email, "email_ingest", real_ingest)
    assert imap_poll() == {"created": 1}
    assert server.flags()["<fault-2@sy1.example.cn>"] == {"\\Seen"}
    assert Ticket.objects.count() == 2


def test_a_wrong_password_fails_the_run_and_marks_nothing(mailbox_settings, settings, clock):
    server = mailbox_settings
    server.append(fault_report("<fault-3@sy1.example.cn>"))
    settings.MEDSERVICE_IMAP_PASSWORD = "wrong"
    with pytest.raises(imaplib.IMAP4.error):
        imap_poll()
    assert server.flags() == {"<fault-3@sy1.example.cn>": set()}
    assert Ticket.objects.count() == 0
