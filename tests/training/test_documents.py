"""Controlled service documents (受控文件): a version is drafted with its file, approved by a
signature (password re-entered, never by its own author), takes effect on a date and
supersedes the version before it, which is kept; the version in force on a day is what a work
order records."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from medservice.accounts.choices import Role
from medservice.core.errors import (
    FrozenRecordError,
    InvalidInputError,
    InvalidTransitionError,
    PermissionDeniedError,
    SignatureError,
)
from medservice.core.models import Signature
from medservice.core.signatures import signatures_of
from medservice.training.choices import DocumentKind, DocumentVersionStatus
from medservice.training.documents import (
    document_create,
    document_version_add,
    document_version_approve,
    document_version_current,
    document_version_update,
    document_version_withdraw,
    document_versions_supersede_due,
)
from medservice.training.models import DocumentVersion
from tests.factories import PASSWORD, user_with_role

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def days(count: int) -> datetime.timedelta:
    return datetime.timedelta(days=count)


def pdf(name: str = "manual.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def author(company):
    return user_with_role(Role.QUALITY_STAFF, company, username="author")


@pytest.fixture
def approver(company):
    return user_with_role(Role.QUALITY_MANAGER, company, username="approver")


@pytest.fixture
def manual(author):
    return document_create(
        actor=author,
        data={"code": "SM-M8000", "title": "监护仪维修手册", "kind": DocumentKind.MANUAL},
    )


def draft(author, document, label, **extra):
    return document_version_add(
        actor=author,
        document=document,
        version_label=label,
        file=pdf(f"{label.replace('/', '')}.pdf"),
        change_summary=extra.pop("change_summary", "首次发布"),
        effective_on=extra.pop("effective_on", None),
    )


def approve(approver, version, **extra):
    return document_version_approve(actor=approver, version=version, password=PASSWORD, **extra)


@pytest.fixture
def first(author, approver, manual):
    """A/0, approved and in force since today."""
    return approve(approver, draft(author, manual, "A/0"))


def test_a_draft_is_approved_with_a_signature(author, approver, manual):
    version = draft(author, manual, "A/0")
    assert version.status == DocumentVersionStatus.DRAFT
    assert document_version_current(manual) is None

    version = approve(approver, version)

    assert version.status == DocumentVersionStatus.APPROVED
    assert version.approved_by == approver
    assert version.effective_on == timezone.localdate()
    assert version.is_frozen
    (signature,) = signatures_of(version)
    assert signature.signer == approver
    assert signature.meaning == "Approved for use"
    assert document_version_current(manual) == version


def test_a_wrong_password_signs_nothing_and_changes_nothing(author, approver, manual):
    version = draft(author, manual, "A/0")
    with pytest.raises(SignatureError):
        document_version_approve(actor=approver, version=version, password="wrong")
    version.refresh_from_db()
    assert version.status == DocumentVersionStatus.DRAFT
    assert version.approved_by is None
    assert version.signed_at is None
    assert version.effective_on is None
    assert not Signature.objects.exists()


def test_approving_v2_effective_today_supersedes_v1_which_is_kept(author, approver, manual, first):
    today = timezone.localdate()
    second = approve(approver, draft(author, manual, "A/1", change_summary="增加升级步骤"))

    first.refresh_from_db()
    assert first.status == DocumentVersionStatus.SUPERSEDED
    assert first.superseded_on == today
    assert DocumentVersion.objects.filter(pk=first.pk).exists()
    assert second.status == DocumentVersionStatus.APPROVED
    assert document_version_current(manual) == second
    assert document_version_current(manual, on=today - days(1)) is None


def test_v2_effective_next_week_leaves_v1_current_until_then(author, approver, manual, first):
    today = timezone.localdate()
    next_week = today + days(7)
    second = approve(approver, draft(author, manual, "A/1"), effective_on=next_week)

    first.refresh_from_db()
    assert first.status == DocumentVersionStatus.APPROVED
    assert first.superseded_on is None
    assert document_version_current(manual) == first
    assert document_version_current(manual, on=next_week - days(1)) == first
    assert document_version_current(manual, on=next_week) == second

    # The daily job marks it once the day comes; running it again changes nothing.
    assert document_versions_supersede_due(on=today) == 0
    assert document_versions_supersede_due(on=next_week) == 1
    assert document_versions_supersede_due(on=next_week) == 0
    first.refresh_from_db()
    assert first.status == DocumentVersionStatus.SUPERSEDED
    assert first.superseded_on == next_week
    # History still answers: before next week, A/0 was the one in force.
    assert document_version_current(manual, on=today) == first
    assert document_version_current(manual, on=next_week) == second


def test_a_version_cannot_take_effect_in_the_past_or_before_an_approved_one(
    author, approver, manual, first
):
    today = timezone.localdate()
    second = draft(author, manual, "A/1")
    with pytest.raises(InvalidInputError) as refused:
        approve(approver, second, effective_on=today - days(1))
    assert "effective_on" in refused.value.fields
    approve(approver, second, effective_on=today + days(10))
    third = draft(author, manual, "A/2")
    with pytest.raises(InvalidInputError) as refused:
        approve(approver, third, effective_on=today + days(5))
    assert "effective_on" in refused.value.fields
    third.refresh_from_db()
    assert third.status == DocumentVersionStatus.DRAFT


def test_a_signed_versions_content_is_frozen_but_its_status_moves_on(
    author, approver, manual, first
):
    with pytest.raises(InvalidTransitionError):
        document_version_update(actor=author, instance=first, data={"change_summary": "偷偷修改"})
    first.refresh_from_db()
    first.change_summary = "偷偷修改"
    with pytest.raises(FrozenRecordError):
        first.save()
    first.refresh_from_db()
    assert first.change_summary == "首次发布"

    approve(approver, draft(author, manual, "A/1"))
    first.refresh_from_db()
    assert first.status == DocumentVersionStatus.SUPERSEDED


def test_a_draft_can_be_edited(author, manual):
    version = draft(author, manual, "A/0")
    version = document_version_update(
        actor=author, instance=version, data={"change_summary": "修订说明"}
    )
    assert version.change_summary == "修订说明"


def test_the_author_cannot_approve_their_own_version(approver, manual):
    version = draft(approver, manual, "A/0")
    with pytest.raises(PermissionDeniedError):
        approve(approver, version)
    version.refresh_from_db()
    assert version.status == DocumentVersionStatus.DRAFT
    assert version.signed_at is None


def test_someone_without_the_approval_permission_cannot_approve(author, engineer, manual):
    version = draft(author, manual, "A/0")
    with pytest.raises(PermissionDeniedError):
        approve(engineer, version)


def test_only_pdfs_scans_and_photos_are_accepted_as_files(author, manual):
    with pytest.raises(InvalidInputError) as refused:
        document_version_add(
            actor=author,
            document=manual,
            version_label="A/0",
            file=SimpleUploadedFile("manual.pdf", b"just text, not a pdf"),
        )
    assert "file" in refused.value.fields
    assert not DocumentVersion.objects.exists()


def test_withdrawing_the_version_in_force_leaves_none_in_force(author, approver, manual, first):
    today = timezone.localdate()
    with pytest.raises(InvalidInputError):
        document_version_withdraw(actor=approver, version=first, reason=" ")
    with pytest.raises(PermissionDeniedError):
        document_version_withdraw(actor=author, version=first, reason="错误")

    first = document_version_withdraw(actor=approver, version=first, reason="发现重大错误")

    assert first.status == DocumentVersionStatus.WITHDRAWN
    assert first.superseded_on == today
    assert document_version_current(manual) is None
    with pytest.raises(InvalidTransitionError):
        document_version_withdraw(actor=approver, version=first, reason="again")


def test_withdrawing_a_version_not_yet_in_force_keeps_the_present_one(
    author, approver, manual, first
):
    second = approve(
        approver, draft(author, manual, "A/1"), effective_on=timezone.localdate() + days(7)
    )
    document_version_withdraw(actor=approver, version=second, reason="推迟发布")
    assert document_version_current(manual, on=timezone.localdate() + days(8)) == first


def test_a_draft_is_withdrawn_by_its_editors(author, manual):
    version = draft(author, manual, "A/0")
    version = document_version_withdraw(actor=author, version=version, reason="放弃")
    assert version.status == DocumentVersionStatus.WITHDRAWN
    assert version.superseded_on is None


# --- Pages and scoping ----------------------------------------------------------------------


def test_a_distributor_engineer_sees_only_approved_versions(
    client, api, author, approver, manual, first, dist_engineer
):
    pending = draft(author, manual, "A/1")
    client.force_login(dist_engineer)

    assert client.get(reverse("training:documents-detail", args=[manual.pk])).status_code == 200
    assert (
        client.get(reverse("training:document-versions-detail", args=[first.pk])).status_code == 200
    )
    download = client.get(reverse("training:document-version-file", args=[first.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    for name in ("document-versions-detail", "document-version-file"):
        assert client.get(reverse(f"training:{name}", args=[pending.pk])).status_code == 404

    as_dist = api.as_user(dist_engineer)
    body = as_dist.get(f"/api/v1/documents/{manual.pk}/").json()
    assert [row["id"] for row in body["versions"]] == [first.pk]
    assert as_dist.get(f"/api/v1/document-versions/{pending.pk}/").status_code == 404
    listed = as_dist.get("/api/v1/document-versions/").json()["results"]
    assert [row["id"] for row in listed] == [first.pk]


def test_a_document_with_only_a_draft_is_out_of_a_distributors_reach(
    client, author, manual, dist_engineer
):
    draft(author, manual, "A/0")
    client.force_login(dist_engineer)
    assert client.get(reverse("training:documents-detail", args=[manual.pk])).status_code == 404


def test_the_pages_draft_and_approve_a_version(client, author, approver, manual):
    client.force_login(author)
    page = client.get(reverse("training:documents-detail", args=[manual.pk]))
    assert page.status_code == 200
    assert b'data-action="add-version"' in page.content
    response = client.post(
        reverse("training:document-version-add", args=[manual.pk]),
        {"version_label": "A/0", "file": pdf(), "change_summary": "首次发布"},
    )
    version = DocumentVersion.objects.get()
    assert response.status_code == 302
    # The author is offered no approval.
    page = client.get(reverse("training:document-versions-detail", args=[version.pk]))
    assert b'data-action="approve"' not in page.content

    client.force_login(approver)
    url = reverse("training:document-version-approve", args=[version.pk])
    refused = client.post(url, {"password": "wrong"})
    assert refused.status_code == 400
    assert b"password is not correct" in refused.content
    assert client.post(url, {"password": PASSWORD}).status_code == 302
    version.refresh_from_db()
    assert version.status == DocumentVersionStatus.APPROVED
    page = client.get(reverse("training:documents-detail", args=[manual.pk]))
    assert b"In force today" in page.content

    withdraw = reverse("training:document-version-withdraw", args=[version.pk])
    assert client.post(withdraw, {"reason": ""}).status_code == 400
    assert client.post(withdraw, {"reason": "错误"}).status_code == 302


# --- API --------------------------------------------------------------------------------------


def test_the_api_approves_with_the_password(api, author, approver, manual):
    version = draft(author, manual, "A/0")
    as_approver = api.as_user(approver)
    url = f"/api/v1/document-versions/{version.pk}/approve/"

    refused = as_approver.post(url, {"password": "wrong"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "signature_invalid"
    own = api.as_user(author).post(url, {"password": PASSWORD}, format="json")
    assert own.status_code == 403

    response = as_approver.post(url, {"password": PASSWORD}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "approved"
    again = as_approver.post(url, {"password": PASSWORD}, format="json")
    assert again.status_code == 409

    edit = api.as_user(author).patch(
        f"/api/v1/document-versions/{version.pk}/", {"change_summary": "x"}, format="json"
    )
    assert edit.status_code == 409

    current = as_approver.get(f"/api/v1/documents/{manual.pk}/current/")
    assert current.json()["id"] == version.pk
    yesterday = (timezone.localdate() - days(1)).isoformat()
    assert (
        as_approver.get(f"/api/v1/documents/{manual.pk}/current/?on={yesterday}").status_code == 404
    )
    assert as_approver.get(f"/api/v1/documents/{manual.pk}/current/?on=junk").status_code == 400


def test_the_api_drafts_a_version_under_its_document(api, author, manual):
    response = api.as_user(author).post(
        f"/api/v1/documents/{manual.pk}/versions/",
        {"version_label": "A/0", "file": pdf(), "change_summary": "首次发布"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "draft"
    assert (
        api.as_user(author).post("/api/v1/document-versions/", {}, format="json").status_code == 405
    )


def test_a_signed_version_offers_no_edit_button_and_a_draft_does(
    client, author, approver, manual, first
):
    second = draft(author, manual, "A/1")
    client.force_login(author)

    signed_page = client.get(f"/training/document-versions/{first.pk}/").content.decode()
    draft_page = client.get(f"/training/document-versions/{second.pk}/").content.decode()

    assert f"/training/document-versions/{first.pk}/edit/" not in signed_page
    assert f"/training/document-versions/{second.pk}/edit/" in draft_page
