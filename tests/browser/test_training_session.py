"""A training session in Chromium (issue 6's journey): a service manager records the results
of a certifying session with scores, then finds the certification the engineer earned on the
engineer's staff record page."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from medservice.accounts.choices import Role
from medservice.training.choices import TopicCategory
from medservice.training.models import Certification
from medservice.training.sessions import session_create
from tests.browser.conftest import log_in
from tests.catalog.factories import DeviceModelFactory
from tests.factories import PASSWORD, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_manager_records_a_session_and_sees_the_certification_on_the_staff_record(
    live_server, page: Page, page_errors, company
):
    manager = user_with_role(Role.SERVICE_MANAGER, company, username="manager")
    engineer = user_with_role(
        Role.FIELD_ENGINEER, company, username="engineer", last_name="李", first_name="工"
    )
    failing = user_with_role(Role.FIELD_ENGINEER, company, username="trainee2")
    monitor = DeviceModelFactory(name="监护仪 M8")
    starts_at = timezone.now() - datetime.timedelta(days=1)
    session = session_create(
        actor=manager,
        title="M8 监护仪维修培训",
        category=TopicCategory.PRODUCT,
        starts_at=starts_at,
        device_model=monitor,
        pass_mark=60,
        practical_required=True,
        certifies=True,
        attendees=[engineer, failing],
    )

    log_in(page, "manager", PASSWORD)
    page.goto(f"/training/staff-trainings/{session.pk}/")
    page.locator('summary[data-action="results"]').click()
    form = page.locator("#results-form")
    for row, score in ((0, "86"), (1, "45")):
        form.locator(f'[name="results-{row}-attended"]').check()
        form.locator(f'[name="results-{row}-written_score"]').fill(score)
        form.locator(f'[name="results-{row}-practical_passed"]').select_option("true")
        form.locator(f'[name="results-{row}-feedback_rating"]').select_option("5")
    with page.expect_navigation():
        page.locator("#results-submit").click()
    expect(page.locator(".alert-success")).to_be_visible()
    attendees = page.locator("#session-attendees")
    expect(attendees.locator('tr[data-person="engineer"] .result .text-bg-success')).to_be_visible()
    expect(attendees.locator('tr[data-person="trainee2"] .result .text-bg-danger')).to_be_visible()
    expect(page.locator("#session-certifications")).to_contain_text("监护仪 M8")

    certification = Certification.objects.get()
    assert certification.person == engineer
    valid_until = certification.valid_until.isoformat()

    page.locator('#session-attendees tr[data-person="engineer"] a').click()
    expect(page).to_have_url(re.compile(rf"/training/people/{engineer.pk}/record/$"))
    row = page.locator(f'#record-certifications tr[data-certification="{certification.pk}"]')
    expect(row).to_contain_text("监护仪 M8")
    expect(row).to_contain_text(valid_until)
    expect(page.locator("#record-trainings")).to_contain_text("86")
    assert page_errors == []
