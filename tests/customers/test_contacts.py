"""Contacts: personal data encrypted at rest, found by phone through the keyed hash, masked,
shown in full only on request and with an audit entry; anonymisation destroys the audit key."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from medservice.accounts.roles import Role
from medservice.core.audit import audit_seal_pending, audit_verify_chain
from medservice.core.crypto import ANONYMISED, open_personal_value
from medservice.core.models import AuditEvent
from medservice.customers.models import Contact
from medservice.customers.selectors import contacts_find_by_phone
from medservice.customers.services import contact_anonymise, contact_invite
from tests.factories import ContactFactory, DepartmentFactory, user_with_role


@pytest.fixture
def nurse(hospital_a):
    return ContactFactory(
        organization=hospital_a, name="钱护士长", phone="138-1234-5678", email="qian@h1.example.cn"
    )


@pytest.mark.django_db
def test_phones_are_encrypted_at_rest(nurse):
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone, phone_index FROM customers_contact WHERE id = %s", [nurse.pk])
        stored, index = cursor.fetchone()
    assert stored.startswith("enc1:") and "5678" not in stored
    assert len(index) == 64
    assert Contact.objects.get(pk=nurse.pk).phone == "138-1234-5678"


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678"])
def test_typing_a_callers_phone_finds_the_contact_however_it_is_written(agent, nurse, typed):
    assert list(contacts_find_by_phone(agent, typed)) == [nurse]


@pytest.mark.django_db
def test_the_phone_look_up_is_scoped(customer_a, hospital_b):
    stranger = ContactFactory(organization=hospital_b, phone="13900000001")
    assert list(contacts_find_by_phone(customer_a, "13900000001")) == []
    assert stranger.pk


@pytest.mark.django_db
def test_lists_and_the_api_show_phones_masked(client, api, agent, nurse):
    client.force_login(agent)
    page = client.get("/customers/contacts/").content.decode()
    assert "138****5678" in page and "13812345678" not in page and "138-1234-5678" not in page
    body = api.as_user(agent).get(f"/api/v1/contacts/{nurse.pk}/").json()
    assert (body["phone"], body["email"]) == ("138****5678", "q***@h1.example.cn")


@pytest.mark.django_db
def test_the_api_finds_a_contact_by_phone(api, agent, nurse):
    body = api.as_user(agent).get("/api/v1/contacts/", {"phone": "+86 13812345678"}).json()
    assert [row["id"] for row in body["results"]] == [nurse.pk]


@pytest.mark.django_db
def test_unmasking_through_the_api_is_audited(api, agent, nurse):
    response = api.as_user(agent).post(
        f"/api/v1/contacts/{nurse.pk}/unmask/", {"field": "phone"}, format="json"
    )
    assert response.json() == {"field": "phone", "value": "138-1234-5678"}
    event = AuditEvent.objects.filter(
        object_type="customers.contact", object_id=str(nurse.pk)
    ).latest("id")
    assert (event.action, event.detail, event.actor_id) == ("unmask", "phone", agent.pk)


@pytest.mark.django_db
def test_a_role_without_need_cannot_unmask(api, customer_a, hospital_a):
    colleague = ContactFactory(organization=hospital_a)
    response = api.as_user(customer_a).post(
        f"/api/v1/contacts/{colleague.pk}/unmask/", {"field": "phone"}, format="json"
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="unmask").exists()


@pytest.mark.django_db
def test_unmasking_in_the_page_shows_the_value_and_audits_it(client, agent, nurse):
    client.force_login(agent)
    page = client.get(f"/customers/contacts/{nurse.pk}/").content.decode()
    assert f"/customers/contacts/{nurse.pk}/unmask/phone/" in page
    shown = client.post(f"/customers/contacts/{nurse.pk}/unmask/phone/", HTTP_HX_REQUEST="true")
    assert shown.content.decode() == '<span class="font-monospace">138-1234-5678</span>'
    assert (
        AuditEvent.objects.filter(action="unmask", object_id=str(nurse.pk), detail="phone").count()
        == 1
    )


@pytest.mark.django_db
def test_opening_a_contact_for_editing_counts_as_unmasking(client, agent, nurse):
    client.force_login(agent)
    assert client.get(f"/customers/contacts/{nurse.pk}/edit/").status_code == 200
    assert (
        AuditEvent.objects.filter(action="unmask", object_id=str(nurse.pk), detail="phone").count()
        == 1
    )


@pytest.mark.django_db
def test_a_bad_phone_is_refused_by_name(api, agent, hospital_a):
    response = api.as_user(agent).post(
        "/api/v1/contacts/",
        {"organization": hospital_a.pk, "name": "张医生", "phone": "12345"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["phone"] == [
        "12345 is not a valid phone number: write a mobile (138 1234 5678), a landline with its area code (021 6543 2100) or +country code."
    ]
    assert not Contact.objects.filter(name="张医生").exists()


@pytest.mark.django_db
def test_a_department_of_another_organisation_is_refused(api, agent, hospital_a, hospital_b):
    elsewhere = DepartmentFactory(organization=hospital_b, name="放射科")
    response = api.as_user(agent).post(
        "/api/v1/contacts/",
        {"organization": hospital_a.pk, "name": "张医生", "department": elsewhere.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "department": ["This department belongs to another organisation."]
    }


@pytest.mark.django_db
def test_personal_values_in_the_audit_trail_are_sealed_and_anonymisation_destroys_them(
    agent, hospital_a
):
    from medservice.core.context import audit_context

    with audit_context(actor=agent):
        contact = Contact(organization=hospital_a, name="孙医生", phone="13900001111")
        contact.refresh_indexes()
        contact.save()
    created = AuditEvent.objects.get(
        object_type="customers.contact", object_id=str(contact.pk), action="create"
    )
    sealed = created.changes["phone"][1]
    assert sealed.startswith("pii1:") and "1111" not in sealed
    assert open_personal_value(contact.audit_subject(), sealed) == "13900001111"
    audit_seal_pending()

    contact_anonymise(actor=agent, contact=contact, reason="保存期限届满")

    assert open_personal_value(contact.audit_subject(), sealed) == ANONYMISED
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_index, contact.name) == ("", "", "Anonymised contact")
    audit_seal_pending()
    assert audit_verify_chain().ok


@pytest.mark.django_db
def test_an_invitation_records_consent_and_makes_a_customer_user(agent, nurse):
    from medservice.core.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        contact_invite(actor=agent, contact=nurse, consent_text="", consent_given=False)
    user = contact_invite(
        actor=agent,
        contact=nurse,
        consent_text="本人同意为售后服务处理个人信息。",
        consent_given=True,
    )
    nurse.refresh_from_db()
    assert (user.organization_id, sorted(user.roles), nurse.portal_user_id) == (
        nurse.organization_id,
        ["customer_user"],
        user.pk,
    )
    assert (
        nurse.consent_given_at is not None
        and nurse.consent_text == "本人同意为售后服务处理个人信息。"
    )
    assert not user.has_usable_password()


@pytest.mark.django_db
def test_the_organisation_page_lists_its_departments_and_contacts(client, agent, hospital_a, nurse):
    DepartmentFactory(organization=hospital_a, name="心内科")
    client.force_login(agent)
    page = client.get(f"/customers/organizations/{hospital_a.pk}/").content.decode()
    assert "心内科" in page and "钱护士长" in page and "138****5678" in page


@pytest.mark.django_db
def test_inviting_from_the_page_needs_the_consent_box(client, company, nurse):
    # 等保 2.0: accounts, portal ones too, are the security administrator's
    client.force_login(user_with_role(Role.SECURITY_ADMINISTRATOR, company, is_staff=True))
    page = client.get(f"/customers/contacts/{nurse.pk}/").content.decode()
    assert f"/customers/contacts/{nurse.pk}/invite/" in page
    refused = client.post(f"/customers/contacts/{nurse.pk}/invite/", {"consent_text": "同意"})
    assert refused.status_code == 400
    nurse.refresh_from_db()
    assert nurse.portal_user_id is None
    accepted = client.post(
        f"/customers/contacts/{nurse.pk}/invite/", {"consent_text": "同意", "consent_given": "on"}
    )
    assert accepted.status_code == 302
    nurse.refresh_from_db()
    assert (nurse.portal_user.email, nurse.consent_text) == ("qian@h1.example.cn", "同意")


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SERVICE_AGENT, Role.ADMINISTRATOR])
def test_a_role_without_account_rights_cannot_invite(client, company, nurse, role):
    # the system administrator neither: it keeps the configuration, not the accounts
    client.force_login(user_with_role(role, company, is_staff=True))
    assert client.get(f"/customers/contacts/{nurse.pk}/invite/").status_code == 404
    assert (
        client.post(
            f"/customers/contacts/{nurse.pk}/invite/",
            {"consent_text": "同意", "consent_given": "on"},
        ).status_code
        == 404
    )
    nurse.refresh_from_db()
    assert nurse.portal_user_id is None


@pytest.mark.django_db
def test_sending_back_masked_values_keeps_the_real_ones(api, agent, nurse):
    client = api.as_user(agent)
    read = client.get(f"/api/v1/contacts/{nurse.pk}/").json()
    response = client.patch(
        f"/api/v1/contacts/{nurse.pk}/", {"email": read["email"], "role": "科护士长"}, format="json"
    )
    assert response.status_code == 200
    nurse.refresh_from_db()
    assert (nurse.email, nurse.role) == ("qian@h1.example.cn", "科护士长")


@pytest.mark.django_db
def test_the_trail_never_names_a_contact_in_clear(agent, nurse):
    events = AuditEvent.objects.filter(object_type="customers.contact", object_id=str(nurse.pk))
    assert events.exists()
    assert all("钱护士长" not in event.object_repr for event in events)


@pytest.mark.django_db
def test_a_role_that_may_not_list_contacts_sees_no_contacts_tab(client, hospital_a, nurse, company):
    from medservice.accounts.choices import Role
    from tests.factories import user_with_role

    store = user_with_role(Role.STORE_STAFF, company)
    client.force_login(store)
    page = client.get(f"/customers/organizations/{hospital_a.pk}/").content.decode()
    # Store staff may list devices (and service requests), not contacts, departments,
    # deliveries or contracts.
    tabs = re.findall(r'role="tab">([^<]+?) <span class="badge', page)
    assert [
        tab for tab in tabs if tab in ("Departments", "Contacts", "Deliveries", "Contracts")
    ] == []
    assert "Devices" in tabs
    assert "钱护士长" not in page


@pytest.mark.django_db(transaction=True)
def test_an_invitation_mails_a_link_that_sets_the_password(client, settings):
    import re

    from django.core import mail

    from medservice.accounts.choices import Role
    from tests.factories import CompanyFactory, OrganizationFactory, user_with_role

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDSERVICE_PUBLIC_URL = "https://service.example.cn"
    company = CompanyFactory()
    agent = user_with_role(Role.SERVICE_AGENT, company)
    nurse = ContactFactory(
        organization=OrganizationFactory(), email="qian@h1.example.cn", language="en"
    )
    user = contact_invite(actor=agent, contact=nurse, consent_text="同意", consent_given=True)

    (message,) = mail.outbox
    assert message.to == ["qian@h1.example.cn"]
    link = re.search(r"https://service\.example\.cn(/accounts/password/\S+/)", message.body).group(
        1
    )
    form = client.get(link, follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Long-enough-pass-42", "new_password2": "Long-enough-pass-42"},
    )
    assert (done.status_code, done["Location"]) == (302, "/accounts/login/")
    user.refresh_from_db()
    assert user.check_password("Long-enough-pass-42")


@pytest.mark.django_db
def test_without_javascript_the_shown_value_comes_as_a_message(client, agent, nurse):
    client.force_login(agent)
    page = client.post(
        f"/customers/contacts/{nurse.pk}/unmask/phone/", follow=True
    ).content.decode()
    assert "phone: 138-1234-5678" in page
