"""The medservice command: deploy checks, demo data, hyphenated command names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from medservice.accounts.models import User
from medservice.customers.models import Organization

ROOT = Path(__file__).resolve().parents[2]


def run_medservice(*arguments: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "MEDSERVICE_", "DJANGO_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "medservice", *arguments],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_medservice(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/medservice_unused",
            "SECRET_KEY": "k" * 30 + "A1-production-secret-key-of-enough-length-xyz",
            "ALLOWED_HOSTS": "service.example.com",
            "FIELD_ENCRYPTION_KEY": "a-production-field-key",
            "MEDSERVICE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = run_medservice(
        "check",
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "FIELD_ENCRYPTION_KEY": "k",
            "MEDSERVICE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_refuse_to_start_without_the_field_encryption_key(tmp_path):
    result = run_medservice(
        "check",
        env={
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x",
            "SECRET_KEY": "s" * 60,
            "MEDSERVICE_VAR_DIR": str(tmp_path),
        },
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set outside demo mode" in result.stderr


def test_hyphenated_command_names_work(tmp_path):
    result = run_medservice(
        "verify-audit", "--help", env={"MEDSERVICE_VAR_DIR": str(tmp_path), "MEDSERVICE_DEMO": "1"}
    )
    assert result.returncode == 0
    assert "Recompute the audit hash chain" in result.stdout


@pytest.mark.django_db
def test_seed_demo_is_refused_outside_a_demo_deployment():
    with pytest.raises(CommandError, match="not a demo deployment"):
        call_command("seed_demo")


@pytest.mark.django_db
@override_settings(MEDSERVICE_DEMO=True)
def test_seed_demo_loads_one_user_per_role_and_a_second_run_adds_nothing():
    call_command("seed_demo")
    counts = (User.objects.count(), Organization.objects.count())
    call_command("seed_demo")
    assert (User.objects.count(), Organization.objects.count()) == counts
    # One user per role, plus the store staff of a customer store (the opinion-book demo).
    assert counts == (15, 10)
    customer = User.objects.get(username="customer")
    assert (customer.organization.name, customer.check_password("demo-pass-2026")) == (
        "市第一人民医院",
        True,
    )
    distributor = Organization.objects.get(kind="distributor")
    assert sorted(distributor.serves.values_list("name", flat=True)) == [
        "妇幼保健院",
        "阳光社区卫生服务中心",
    ]


@pytest.mark.django_db
@override_settings(MEDSERVICE_DEMO=True)
def test_seed_demo_if_empty_leaves_a_used_database_alone(company):
    from tests.factories import UserFactory

    UserFactory(organization=company)
    call_command("seed_demo", "--if-empty")
    assert User.objects.count() == 1


def test_an_embedded_install_outside_demo_mode_refuses_to_start_without_the_key(tmp_path):
    result = run_medservice("check", env={"MEDSERVICE_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set outside demo mode" in result.stderr
