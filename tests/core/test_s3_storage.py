"""Attachments on S3-compatible storage (STORAGE_BACKEND=s3): a real S3 server — moto's, started
as a subprocess on a free port of 127.0.0.1 for these tests and stopped afterwards — holds the
files that the app's services, API and views write and read through Django's default storage.
Nothing lands in MEDIA_ROOT."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile

from medservice.core.imports import import_start
from medservice.core.models import ImportJob
from medservice.customers.models import Organization
from medservice.tickets.services import ticket_comment
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
KEYS = {"AWS_ACCESS_KEY_ID": "medservice-test", "AWS_SECRET_ACCESS_KEY": "medservice-test"}
REGION = "us-east-1"
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    """moto's S3 server on 127.0.0.1:<free port>, for the whole test session."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"moto's S3 server exited with {server.returncode}: {log.read_text()}")
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"moto's S3 server did not answer in {STARTUP_SECONDS} s")
                time.sleep(0.2)
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture
def bucket(s3_endpoint, settings, monkeypatch, tmp_path):
    """A fresh bucket, and the settings STORAGE_BACKEND=s3 gives (see config/settings.py)."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    name = f"medservice-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name=REGION)
    client.create_bucket(Bucket=name)
    settings.MEDIA_ROOT = tmp_path / "media"  # must stay empty
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "addressing_style": "path",
                "signature_version": "s3v4",
                "file_overwrite": False,
                "default_acl": None,
                "querystring_auth": True,
                "querystring_expire": 300,
                "max_memory_size": 5 * 1024 * 1024,
            },
        },
    }
    yield client, name
    assert not (tmp_path / "media").exists(), "a file was written to MEDIA_ROOT, not to S3"


def objects(client, name: str) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=name).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=name, Key=item["Key"])["Body"].read()
        for item in listing
    }


def test_default_storage_is_the_bucket(bucket):
    assert type(storages["default"]).__name__ == "S3Storage"
    saved = default_storage.save("probe/hello.txt", io.BytesIO(b"hello"))
    client, name = bucket
    assert objects(client, name) == {saved: b"hello"}
    with default_storage.open(saved, "rb") as handle:
        assert handle.read() == b"hello"


def test_an_attachment_is_uploaded_to_s3_and_downloaded_through_the_api_and_the_view(
    bucket, api, agent, client, hospital_a
):
    s3, name = bucket
    ticket = TicketFactory(organization=hospital_a)
    photo = io.BytesIO(PNG)
    photo.name = "报警屏幕.png"

    response = api.as_user(agent).post(
        f"/api/v1/tickets/{ticket.pk}/comments/", {"file": photo}, format="multipart"
    )

    assert response.status_code == 201, response.json()
    stored = objects(s3, name)
    assert list(stored.values()) == [PNG]
    (key,) = stored
    assert key.startswith("tickets/") and key.endswith(".png")
    download = api.as_user(agent).get(response.json()["file_url"])
    assert (download.status_code, b"".join(download.streaming_content)) == (200, PNG)
    # The UI's view reads the same object.
    client.force_login(agent)
    entry_id = response.json()["id"]
    page = client.get(f"/tickets/tickets/{ticket.pk}/files/{entry_id}/")
    assert (page.status_code, page["Content-Type"]) == (200, "image/png")
    assert b"".join(page.streaming_content) == PNG


def test_the_service_keeps_two_files_of_one_name_apart(bucket, agent, hospital_a):
    s3, name = bucket
    ticket = TicketFactory(organization=hospital_a)
    first = ticket_comment(
        ticket=ticket,
        actor=agent,
        attachment=SimpleUploadedFile("fault.png", PNG, content_type="image/png"),
    )
    second_content = PNG + b"\x00second"
    second = ticket_comment(
        ticket=ticket,
        actor=agent,
        attachment=SimpleUploadedFile("fault.png", second_content, content_type="image/png"),
    )

    assert first.attachment.name != second.attachment.name
    assert objects(s3, name) == {first.attachment.name: PNG, second.attachment.name: second_content}
    with second.attachment.open("rb") as handle:
        assert handle.read() == second_content


def test_a_background_import_reads_its_file_back_from_s3(
    bucket, agent, django_capture_on_commit_callbacks
):
    s3, name = bucket
    content = (
        "名称,类型,统一社会信用代码,医院等级,省份,城市\n滨江诊所,clinic,,,浙江省,杭州市\n".encode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        job = import_start(
            actor=agent,
            kind="organizations",
            upload=SimpleUploadedFile("clinics.csv", content),
            apply=True,
        )

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.errors
    assert objects(s3, name) == {job.file.name: content}
    assert Organization.objects.filter(name="滨江诊所").exists()


def test_s3_without_a_bucket_name_refuses_to_start(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "MEDSERVICE_", "DJANGO_", "AWS_", "STORAGE_"))
    }
    result = subprocess.run(
        [sys.executable, "-m", "medservice", "check"],
        env={
            **environment,
            "MEDSERVICE_VAR_DIR": str(tmp_path),
            "MEDSERVICE_DEMO": "1",
            "STORAGE_BACKEND": "s3",
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode != 0
    assert "STORAGE_BACKEND=s3 needs AWS_STORAGE_BUCKET_NAME." in result.stderr
