"""E-mail intake: each message to the service mailbox becomes a request, or an entry on the
request it answers; duplicates and auto-replies create nothing; the mailbox job reads IMAP."""

from __future__ import annotations

import base64
import datetime
import io
import logging
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from medservice.tickets import intake_email
from medservice.tickets import services as ticket_services
from medservice.tickets.choices import Channel, Status, TicketKind, TimelineKind
from medservice.tickets.intake_email import email_ingest, imap_poll
from medservice.tickets.models import Ticket, TimelineEntry
from tests.tickets.conftest import RECEIVED

# A real 1×1 PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
# 2026-03-02 16:30 Shanghai, half an hour before the tests' "now" (RECEIVED).
SENT = "Mon, 02 Mar 2026 16:30:00 +0800"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def eml(tmp_path: Path, name: str, text: str) -> Path:
    """Write a raw message as a mail server stores it (CRLF line ends; a few mailers still send
    raw UTF-8 in headers) and return its path."""
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path


def ingest(path: Path):
    return email_ingest(path.read_bytes())


def multipart_with_photo(message_id: str = "<m1.20260302@sy1.example.cn>") -> str:
    return f"""\
From: =?utf-8?b?{base64.b64encode("钱丽华".encode()).decode()}?= <QianLH@sy1.example.cn>
To: service@medservice.local
Subject: =?utf-8?b?{base64.b64encode("ICU 监护仪黑屏故障".encode()).decode()}?=
Date: {SENT}
Message-ID: {message_id}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: base64

{b64("ICU 3 床监护仪开机后黑屏，请派工程师。".encode())}
--alt
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: base64

{b64("<p>ICU 3 床监护仪开机后<b>黑屏</b>，请派工程师。</p>".encode())}
--alt--

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
"""


@pytest.mark.django_db
def test_a_multipart_message_becomes_a_request_with_its_photo_and_a_note_of_the_refused_file(
    tmp_path, caller, hospital_a, clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(eml(tmp_path, "photo.eml", multipart_with_photo()))

    assert result.outcome == "created"
    ticket = Ticket.objects.get()
    assert ticket == result.ticket
    assert (ticket.channel, ticket.kind, ticket.number) == (
        Channel.EMAIL,
        TicketKind.REPAIR,  # "故障" in the subject: a fault report
        "BX-2026-000001",
    )
    assert (ticket.reporter_email, ticket.contact, ticket.organization) == (
        "qianlh@sy1.example.cn",
        caller,  # the one contact with that address (case does not matter)
        hospital_a,
    )
    assert ticket.reporter_name == "钱丽华"
    assert ticket.subject == "ICU 监护仪黑屏故障"
    assert ticket.description == "ICU 3 床监护仪开机后黑屏，请派工程师。"  # plain text preferred
    assert ticket.received_at == datetime.datetime(2026, 3, 2, 8, 30, tzinfo=datetime.UTC)
    assert ticket.email_message_id == "<m1.20260302@sy1.example.cn>"

    photo = ticket.timeline.get(kind=TimelineKind.ATTACHMENT)
    assert (photo.attachment_name, photo.attachment_type, photo.customer_visible) == (
        "screen.png",
        "image/png",
        True,
    )
    assert photo.attachment.read() == PNG
    refused = ticket.timeline.get(data__refused_attachment="notes.txt")
    assert "notes.txt" in refused.text and "is not a photo, video or PDF" in refused.text
    assert result.refused_attachments == ["notes.txt"]
    received = ticket.timeline.get(kind=TimelineKind.EMAIL_IN)
    assert received.customer_visible and received.actor_label == "qianlh@sy1.example.cn"
    # The acknowledgement with the number and the promised times went back to the sender.
    assert [message.to for message in mail.outbox] == [["qianlh@sy1.example.cn"]]
    assert "[BX-2026-000001]" in mail.outbox[0].subject


@pytest.mark.django_db
def test_a_gbk_encoded_chinese_message_is_read_and_an_old_date_is_not_trusted(tmp_path, clock):
    body = "您好：\n我院的输液泵（型号 SP-300）频繁报警，请安排维修。\n镕"  # 镕: GBK, not GB2312
    subject = base64.b64encode("咨询：输液泵使用问题".encode("gbk")).decode()
    path = eml(
        tmp_path,
        "gbk.eml",
        f"""\
From: =?gb2312?B?{base64.b64encode("王镕".encode("gbk")).decode()}?= <wangr@xzy.example.cn>
To: service@medservice.local
Subject: =?gb2312?B?{subject}?=
Date: Tue, 06 Jan 2026 10:00:00 +0800
Message-ID: <gbk-1@xzy.example.cn>
MIME-Version: 1.0
Content-Type: text/plain; charset="gb2312"
Content-Transfer-Encoding: base64

{b64(body.encode("gbk"))}""",
    )

    result = ingest(path)

    ticket = result.ticket
    assert ticket.subject == "咨询：输液泵使用问题"
    assert ticket.description == body
    assert ticket.reporter_name == "王镕"  # declared gb2312, read as GB18030
    # Nobody in the contacts has this address: no contact, no organisation yet.
    assert (ticket.contact, ticket.organization) == (None, None)
    # Sent 55 days ago: not a sane receipt time, so the time it arrived here counts.
    assert ticket.received_at == RECEIVED


@pytest.mark.django_db
def test_an_html_only_message_is_read_as_text_and_a_plain_question_is_a_question(tmp_path, clock):
    path = eml(
        tmp_path,
        "html.eml",
        f"""\
From: Dr. Li <li@fy.example.cn>
Subject: Training for new nurses
Date: {SENT}
Message-ID: <html-1@fy.example.cn>
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"

<html><head><style>p {{ color: red }}</style></head><body><p>Could you train our
new nurses on the &lt;SP-300&gt;?</p><p>Thanks,<br>Dr. Li</p></body></html>""",
    )
    ticket = ingest(path).ticket
    assert ticket.kind == TicketKind.QUESTION
    assert ticket.description == (
        "Could you train our\nnew nurses on the <SP-300>?\n\nThanks,\nDr. Li"
    )
    assert ticket.reporter_name == "Dr. Li"


def reply(*, message_id: str, sender: str, subject: str, in_reply_to: str = "") -> str:
    threading = f"In-Reply-To: {in_reply_to}\nReferences: {in_reply_to}\n" if in_reply_to else ""
    return f"""\
From: {sender}
Subject: {subject}
Date: {SENT}
Message-ID: {message_id}
{threading}MIME-Version: 1.0
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit

The monitor now shows error E12 after the restart.

On Mon, 2 Mar 2026 at 16:30 service wrote:
> We have received your request.
"""


@pytest.mark.django_db
def test_a_reply_threads_onto_its_request_by_in_reply_to_and_ends_the_wait(
    tmp_path, caller, agent, clock
):
    ticket = ingest(eml(tmp_path, "first.eml", multipart_with_photo())).ticket
    ticket = ticket_services.ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
    ticket = ticket_services.ticket_wait(
        ticket=ticket, actor=agent, reason="customer", note="请发送报警代码"
    )
    assert ticket.status == Status.WAITING_CUSTOMER

    result = ingest(
        eml(
            tmp_path,
            "reply.eml",
            reply(
                message_id="<r1@sy1.example.cn>",
                sender="Qian <qianlh@sy1.example.cn>",
                subject="Re: something else entirely",
                in_reply_to="<m1.20260302@sy1.example.cn>",
            ),
        )
    )

    assert (result.outcome, result.ticket) == ("threaded", ticket)
    assert Ticket.objects.count() == 1
    entry = TimelineEntry.objects.get(email_message_id="<r1@sy1.example.cn>")
    assert (entry.ticket, entry.kind, entry.customer_visible) == (
        ticket,
        TimelineKind.EMAIL_IN,
        True,
    )
    # Only the new part of the reply, not the quoted original.
    assert entry.text == "The monitor now shows error E12 after the restart."
    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED  # the wait for the customer ended

    # A reply to that reply still finds the request (through the entry's Message-ID).
    again = reply(
        message_id="<r2@sy1.example.cn>",
        sender="qianlh@sy1.example.cn",
        subject="Re: Re: something else",
        in_reply_to="<r1@sy1.example.cn>",
    )
    assert email_ingest(again.encode()).ticket == ticket


@pytest.mark.django_db
def test_a_reply_threads_by_the_number_in_its_subject(tmp_path, caller, hospital_a, clock):
    from tests.factories import ContactFactory

    ticket = ingest(eml(tmp_path, "first.eml", multipart_with_photo())).ticket
    colleague = ContactFactory(organization=hospital_a, email="zhou@sy1.example.cn")

    known = ingest(
        eml(
            tmp_path,
            "known.eml",
            reply(
                message_id="<s1@sy1.example.cn>",
                sender=f"Zhou <{colleague.email}>",
                subject=f"Re: [{ticket.number}] Your service request",
            ),
        )
    )
    assert (known.outcome, known.ticket) == ("threaded", ticket)
    assert TimelineEntry.objects.get(email_message_id="<s1@sy1.example.cn>").customer_visible

    # The same number typed by a stranger: kept on the request, but internal only.
    stranger = ingest(
        eml(
            tmp_path,
            "stranger.eml",
            reply(
                message_id="<x1@elsewhere.example.com>",
                sender="someone@elsewhere.example.com",
                subject=f"[{ticket.number.lower()}] hello",
            ),
        )
    )
    assert (stranger.outcome, stranger.ticket) == ("threaded", ticket)
    entry = TimelineEntry.objects.get(email_message_id="<x1@elsewhere.example.com>")
    assert (entry.customer_visible, entry.data["sender_known"]) == (False, False)
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_the_same_message_id_twice_creates_nothing_the_second_time(tmp_path, caller, clock):
    path = eml(tmp_path, "photo.eml", multipart_with_photo())
    assert ingest(path).outcome == "created"
    entries = TimelineEntry.objects.count()

    second = ingest(path)

    assert second.outcome == "duplicate"
    assert (Ticket.objects.count(), TimelineEntry.objects.count()) == (1, entries)


@pytest.mark.django_db
def test_a_message_without_a_message_id_is_still_taken_once(tmp_path, clock):
    path = eml(
        tmp_path,
        "no-id.eml",
        "From: a@b.example.cn\nSubject: question\nDate: " + SENT + "\n\nHello?\n",
    )
    assert ingest(path).outcome == "created"
    assert ingest(path).outcome == "duplicate"
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        "From: qianlh@sy1.example.cn\nAuto-Submitted: auto-replied\nSubject: 自动回复: 您的服务请求",
        "From: qianlh@sy1.example.cn\nPrecedence: bulk\nSubject: Newsletter",
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>\nSubject: Undelivered Mail",
        "From: qianlh@sy1.example.cn\nSubject: Out of Office: back on Monday",
    ],
    ids=["auto-submitted", "bulk", "mailer-daemon", "out-of-office"],
)
def test_auto_replies_and_bounces_are_not_turned_into_requests(
    tmp_path, caller, clock, caplog, headers
):
    path = eml(
        tmp_path,
        "auto.eml",
        f"{headers}\nDate: {SENT}\nMessage-ID: <auto-1@example.cn>\n\nI am away.\n",
    )
    with caplog.at_level(logging.INFO, logger="medservice.tickets.intake_email"):
        result = ingest(path)
    assert result.outcome == "ignored"
    assert (Ticket.objects.count(), TimelineEntry.objects.count()) == (0, 0)
    assert "<auto-1@example.cn> not turned into a request" in caplog.text


@pytest.mark.django_db
def test_an_auto_reply_on_a_waiting_request_does_not_end_the_wait(tmp_path, caller, agent, clock):
    ticket = ingest(eml(tmp_path, "first.eml", multipart_with_photo())).ticket
    ticket_services.ticket_acknowledge(ticket=ticket, actor=agent, note="已联系")
    ticket_services.ticket_wait(ticket=ticket, actor=agent, reason="customer", note="照片")
    auto = (
        "From: qianlh@sy1.example.cn\nAuto-Submitted: auto-replied\n"
        f"Subject: Re: [{ticket.number}] Your service request\nDate: {SENT}\n"
        "Message-ID: <ooo@sy1.example.cn>\nIn-Reply-To: <m1.20260302@sy1.example.cn>\n\nAway.\n"
    )
    assert email_ingest(auto.encode()).outcome == "ignored"
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_CUSTOMER


# --- the command ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_command_takes_a_file(tmp_path, caller, clock):
    path = eml(tmp_path, "photo.eml", multipart_with_photo())
    out = io.StringIO()

    call_command("ingest_email", str(path), stdout=out)

    ticket = Ticket.objects.get()
    assert f"created {ticket.number} <m1.20260302@sy1.example.cn>" in out.getvalue()
    assert "attachments refused: notes.txt" in out.getvalue()


@pytest.mark.django_db
def test_the_command_reads_standard_input(tmp_path, caller, clock):
    raw = eml(tmp_path, "photo.eml", multipart_with_photo()).read_bytes()
    out = io.StringIO()

    call_command("ingest_email", "-", stdin=io.BytesIO(raw), stdout=out)
    call_command("ingest_email", "-", stdin=io.BytesIO(raw), stdout=out)

    assert Ticket.objects.count() == 1
    assert out.getvalue().splitlines()[1].startswith("-: duplicate <m1.20260302@sy1.example.cn>")


@pytest.mark.django_db
def test_the_command_fails_for_a_missing_file(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "missing.eml"), stderr=io.StringIO())


# --- the mailbox job ------------------------------------------------------------------------------


class FakeImap:
    """Stands in for imaplib.IMAP4_SSL / IMAP4: a folder of messages with their flags."""

    instances: list[FakeImap] = []
    folder: dict[bytes, dict] = {}

    def __init__(self, host, port, **kwargs):
        self.host, self.port, self.kwargs = host, port, kwargs
        self.calls: list[tuple] = []
        FakeImap.instances.append(self)

    def login(self, user, password):
        self.calls.append(("login", user, password))
        return "OK", [b"Logged in"]

    def select(self, mailbox="INBOX"):
        self.calls.append(("select", mailbox))
        return "OK", [str(len(self.folder)).encode()]

    def uid(self, command, *args):
        self.calls.append((command, *args))
        if command == "SEARCH":
            unseen = [uid for uid, item in self.folder.items() if "\\Seen" not in item["flags"]]
            return "OK", [b" ".join(unseen)]
        if command == "FETCH":
            uid, query = args
            assert query == "(BODY.PEEK[])"  # fetching must not mark it seen by itself
            raw = self.folder[uid]["raw"]
            return "OK", [(b"%s (UID %s BODY[] {%d}" % (uid, uid, len(raw)), raw), b")"]
        if command == "STORE":
            uid, operation, flags = args
            assert (operation, flags) == ("+FLAGS", "(\\Seen)")
            self.folder[uid]["flags"].add("\\Seen")
            return "OK", [b""]
        raise AssertionError(command)

    def logout(self):
        self.calls.append(("logout",))
        return "BYE", [b""]


@pytest.fixture
def mailbox(monkeypatch, settings):
    import imaplib

    settings.MEDSERVICE_IMAP_HOST = "imap.example.cn"
    settings.MEDSERVICE_IMAP_PORT = 993
    settings.MEDSERVICE_IMAP_SSL = True
    settings.MEDSERVICE_IMAP_USER = "service@example.cn"
    settings.MEDSERVICE_IMAP_PASSWORD = "secret"
    settings.MEDSERVICE_IMAP_FOLDER = "Service Requests"
    FakeImap.instances = []
    FakeImap.folder = {}
    monkeypatch.setattr(imaplib, "IMAP4_SSL", FakeImap)
    monkeypatch.setattr(imaplib, "IMAP4", FakeImap)
    return FakeImap.folder


@pytest.mark.django_db
def test_the_mailbox_job_takes_unseen_messages_and_one_failure_blocks_no_other(
    tmp_path, caller, clock, mailbox, monkeypatch
):
    def message(number: int, extra: str = "") -> bytes:
        return (
            f"From: qianlh@sy1.example.cn\n{extra}Subject: 问题 {number}\nDate: {SENT}\n"
            f"Message-ID: <imap-{number}@sy1.example.cn>\n\n第 {number} 个问题\n"
        ).encode()

    mailbox.update(
        {
            b"7": {"raw": message(7), "flags": set()},
            b"8": {"raw": message(8), "flags": set()},  # made to fail below
            b"9": {"raw": message(9, "Auto-Submitted: auto-replied\n"), "flags": set()},
            b"10": {"raw": message(10), "flags": set()},
            b"3": {"raw": message(3), "flags": {"\\Seen"}},  # read before: left alone
        }
    )
    real_ingest = intake_email.email_ingest

    def flaky_ingest(raw, **kwargs):
        if b"<imap-8@" in raw:
            raise RuntimeError("database went away")
        return real_ingest(raw, **kwargs)

    monkeypatch.setattr(intake_email, "email_ingest", flaky_ingest)

    counts = imap_poll()

    assert counts == {"created": 2, "ignored": 1, "failed": 1}
    assert sorted(Ticket.objects.values_list("email_message_id", flat=True)) == [
        "<imap-10@sy1.example.cn>",
        "<imap-7@sy1.example.cn>",
    ]
    seen = {uid for uid, item in mailbox.items() if "\\Seen" in item["flags"]}
    assert seen == {b"3", b"7", b"9", b"10"}  # the failed one stays unseen for the next run
    connection = FakeImap.instances[0]
    assert (connection.host, connection.port) == ("imap.example.cn", 993)
    assert connection.calls[:2] == [
        ("login", "service@example.cn", "secret"),
        ("select", '"Service Requests"'),
    ]
    assert connection.calls[-1] == ("logout",)

    # Next run: the failed message is retried and taken; nothing else is read again.
    monkeypatch.setattr(intake_email, "email_ingest", real_ingest)
    assert imap_poll() == {"created": 1}
    assert all("\\Seen" in item["flags"] for item in mailbox.values())
    assert Ticket.objects.count() == 3


@pytest.mark.django_db
def test_the_mailbox_job_marks_a_message_already_taken_as_seen(tmp_path, caller, clock, mailbox):
    raw = eml(tmp_path, "photo.eml", multipart_with_photo()).read_bytes()
    email_ingest(raw)  # taken earlier by the command, say
    mailbox[b"1"] = {"raw": raw, "flags": set()}
    assert imap_poll() == {"duplicate": 1}
    assert mailbox[b"1"]["flags"] == {"\\Seen"}
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_the_mailbox_job_does_nothing_without_a_configured_host(settings, monkeypatch):
    import imaplib

    settings.MEDSERVICE_IMAP_HOST = ""

    def no_connection(*args, **kwargs):
        raise AssertionError("no IMAP connection without a host")

    monkeypatch.setattr(imaplib, "IMAP4_SSL", no_connection)
    monkeypatch.setattr(imaplib, "IMAP4", no_connection)
    assert imap_poll() == {}


def test_the_mailbox_job_runs_every_two_minutes():
    from medservice.core.scheduler import JOBS
    from medservice.tickets.tasks import email_intake_job

    job = JOBS["tickets.email-intake"]
    assert (job.function, job.every) == (email_intake_job, datetime.timedelta(minutes=2))
