"""The knowledge base: engineers write, a service manager publishes, every publication is a
version that stays readable; readers outside the company see only what was published for
them; the search finds Chinese words without a tokeniser; the ticket page and the portal
suggest what helps."""

from __future__ import annotations

import pytest

from medservice.core.errors import InvalidInputError, InvalidTransitionError, PermissionDeniedError
from medservice.training.choices import ArticleKind, ArticleStatus, Visibility
from medservice.training.knowledge import (
    article_create,
    article_publish,
    article_update,
    article_withdraw,
    articles_search,
    articles_suggested,
)
from medservice.training.models import KnowledgeArticleVersion
from medservice.training.selectors import articles_visible_to
from tests.catalog.factories import DeviceModelFactory, FaultCodeFactory, ProductLineFactory
from tests.installed_base.factories import DeviceFactory
from tests.tickets.factories import TicketFactory

pytestmark = pytest.mark.django_db


def write(author, title="监护仪血氧读数不稳", body="更换血氧探头后复测。", **fields):
    return article_create(actor=author, title=title, body=body, **fields)


def published(author, manager, **fields):
    return article_publish(actor=manager, article=write(author, **fields))


@pytest.fixture
def monitors():
    return ProductLineFactory(name="监护仪")


@pytest.fixture
def monitor_model(monitors):
    return DeviceModelFactory(product_line=monitors)


# --- Versions ---------------------------------------------------------------------------------


def test_a_new_article_is_a_numbered_draft_by_its_author(engineer):
    article = write(engineer)

    assert article.number.startswith("KB-")
    assert (article.status, article.author, article.revision) == (
        ArticleStatus.DRAFT,
        engineer,
        1,
    )
    assert not article.versions.exists()


def test_publishing_snapshots_version_1(engineer, manager):
    article = published(engineer, manager)

    assert (article.status, article.revision) == (ArticleStatus.PUBLISHED, 1)
    version = article.versions.get()
    assert (version.revision, version.title, version.published_by) == (
        1,
        "监护仪血氧读数不稳",
        manager,
    )


def test_an_edit_published_again_is_version_2_and_version_1_stays_readable(
    engineer, manager, client
):
    article = published(engineer, manager)
    article = article_update(actor=engineer, article=article, data={"body": "先清洁探头再复测。"})
    # Still published: readers see version 1 until the change is published.
    assert article.status == ArticleStatus.PUBLISHED
    article = article_publish(actor=manager, article=article, change_note="先清洁探头")

    assert article.revision == 2
    assert list(article.versions.order_by("revision").values_list("revision", "body")) == [
        (1, "更换血氧探头后复测。"),
        (2, "先清洁探头再复测。"),
    ]
    client.force_login(engineer)
    old = client.get(f"/training/knowledge-articles/{article.pk}/versions/1/")
    assert old.status_code == 200 and "更换血氧探头后复测。" in old.content.decode()
    page = client.get(f"/training/knowledge-articles/{article.pk}/").content.decode()
    assert "先清洁探头再复测。" in page and "先清洁探头" in page


def test_republishing_needs_a_change_and_a_note(engineer, manager):
    article = published(engineer, manager)

    with pytest.raises(InvalidTransitionError):
        article_publish(actor=manager, article=article, change_note="没有改动")
    article_update(actor=engineer, article=article, data={"title": "血氧读数跳变"})
    with pytest.raises(InvalidInputError) as refused:
        article_publish(actor=manager, article=article)
    assert "change_note" in refused.value.fields
    assert KnowledgeArticleVersion.objects.filter(article=article).count() == 1


def test_outside_readers_see_the_published_version_not_the_pending_edit(
    engineer, manager, dist_engineer, client
):
    article = published(engineer, manager)
    article_update(actor=engineer, article=article, data={"body": "未审核的新做法"})

    client.force_login(dist_engineer)
    page = client.get(f"/training/knowledge-articles/{article.pk}/").content.decode()
    assert "更换血氧探头后复测。" in page and "未审核的新做法" not in page
    assert articles_search(dist_engineer, "未审核").count() == 0


def test_withdrawing_needs_a_reason_and_hides_the_article_outside(engineer, manager, dist_engineer):
    article = published(engineer, manager)

    with pytest.raises(InvalidInputError):
        article_withdraw(actor=manager, article=article, reason=" ")
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    article = article_withdraw(actor=manager, article=article, reason="探头型号已停产")

    assert article.status == ArticleStatus.WITHDRAWN
    assert article not in articles_visible_to(dist_engineer)
    with pytest.raises(InvalidTransitionError):
        article_withdraw(actor=manager, article=article, reason="再撤一次")


# --- Who may do what --------------------------------------------------------------------------


def test_an_engineer_may_not_publish(engineer):
    article = write(engineer)

    with pytest.raises(PermissionDeniedError):
        article_publish(actor=engineer, article=article)
    article.refresh_from_db()
    assert article.status == ArticleStatus.DRAFT


def test_only_a_publisher_shows_a_published_article_to_customers(engineer, manager):
    article = published(engineer, manager)

    with pytest.raises(PermissionDeniedError):
        article_update(actor=engineer, article=article, data={"visibility": Visibility.CUSTOMER})
    article = article_update(
        actor=manager, article=article, data={"visibility": Visibility.CUSTOMER}
    )
    assert article.visibility == Visibility.CUSTOMER


def test_distributor_users_do_not_write_articles(dist_engineer):
    with pytest.raises(PermissionDeniedError):
        write(dist_engineer)


# --- Who sees what ----------------------------------------------------------------------------


def test_each_reader_sees_what_is_meant_for_them(
    engineer, manager, dist_engineer, customer_a, agent
):
    draft = write(engineer, title="草稿")
    internal = published(engineer, manager, title="内部")
    for_customers = published(engineer, manager, title="客户可见", visibility=Visibility.CUSTOMER)
    withdrawn = article_withdraw(
        actor=manager,
        article=published(engineer, manager, title="已撤回", visibility=Visibility.CUSTOMER),
        reason="过时",
    )

    def seen(user):
        return set(articles_visible_to(user))

    assert seen(agent) == {draft, internal, for_customers, withdrawn}
    assert seen(dist_engineer) == {internal, for_customers}
    assert seen(customer_a) == {for_customers}


# --- Search in Chinese ------------------------------------------------------------------------


def test_every_word_must_occur_and_title_matches_come_first(engineer, manager, agent):
    both_in_body = published(
        engineer, manager, title="读数异常", body="检查血氧饱和度模块，必要时更换探头。"
    )
    only_one = published(engineer, manager, title="血氧校准", body="按手册进行校准。")
    in_title = published(engineer, manager, title="血氧探头脱落报警", body="重新固定探头。")

    found = list(articles_search(agent, "血氧 探头"))

    assert found == [in_title, both_in_body]
    assert only_one not in found
    assert list(articles_search(agent, "  校准  ")) == [only_one]


def test_search_is_scoped(engineer, manager, customer_a):
    published(engineer, manager, title="血氧探头（内部）")
    for_customers = published(
        engineer, manager, title="血氧探头的清洁", visibility=Visibility.CUSTOMER
    )

    assert list(articles_search(customer_a, "血氧")) == [for_customers]


# --- Suggestions ------------------------------------------------------------------------------


def test_suggestions_put_the_model_and_the_fault_first_then_the_product_line(
    engineer, manager, agent, monitors, monitor_model
):
    display = FaultCodeFactory(product_line=monitors, code="DSP", name="显示故障")
    black_screen = FaultCodeFactory(product_line=monitors, code="DSP-01", parent=display)
    other_model = DeviceModelFactory(product_line=monitors)
    for_fault = published(
        engineer,
        manager,
        title="显示故障排查",
        device_models=[monitor_model],
        fault_codes=[display],
    )
    for_model = published(engineer, manager, title="日常保养", device_models=[monitor_model])
    for_line = published(engineer, manager, title="产品线通告", fault_codes=[black_screen])
    other = published(
        engineer, manager, title="其他型号", device_models=[other_model], fault_codes=[display]
    )
    write(engineer, title="草稿不推荐", device_models=[monitor_model])

    suggested = articles_suggested(agent, device_model=monitor_model, fault_code=black_screen)

    assert suggested == [for_fault, for_model, for_line]
    assert other not in suggested
    # Without a fault, the model's articles come first, newest first.
    assert articles_suggested(agent, device_model=monitor_model, limit=1) == [for_model]


def test_the_ticket_page_suggests_articles_for_the_device(
    client, engineer, manager, agent, hospital_a, monitor_model
):
    article = published(engineer, manager, title="血氧探头更换步骤", device_models=[monitor_model])
    device = DeviceFactory(organization=hospital_a, device_model=monitor_model)
    ticket = TicketFactory(organization=hospital_a, device=device)
    client.force_login(agent)

    page = client.get(f"/tickets/tickets/{ticket.pk}/").content.decode()

    assert "Suggested articles" in page and "血氧探头更换步骤" in page
    assert f"/training/knowledge-articles/{article.pk}/" in page


def test_the_portal_shows_customer_articles_for_our_devices(
    client, engineer, manager, customer_a, hospital_a, monitor_model
):
    DeviceFactory(organization=hospital_a, device_model=monitor_model)
    for_customers = published(
        engineer,
        manager,
        title="血氧探头的清洁方法",
        visibility=Visibility.CUSTOMER,
        device_models=[monitor_model],
    )
    internal = published(engineer, manager, title="内部维修步骤", device_models=[monitor_model])
    other_model = published(
        engineer,
        manager,
        title="别的型号",
        visibility=Visibility.CUSTOMER,
        device_models=[DeviceModelFactory()],
    )
    client.force_login(customer_a)

    listing = client.get("/portal/help/").content.decode()
    assert "血氧探头的清洁方法" in listing
    assert "内部维修步骤" not in listing and "别的型号" not in listing
    read = client.get(f"/portal/help/{for_customers.pk}/")
    assert read.status_code == 200 and "更换血氧探头后复测。" in read.content.decode()
    assert client.get(f"/portal/help/{internal.pk}/").status_code == 404
    assert client.get(f"/portal/help/{other_model.pk}/").status_code == 200  # published for all


# --- Pages ------------------------------------------------------------------------------------


def test_the_list_searches_and_the_manager_publishes_from_the_page(client, engineer, manager):
    article = write(engineer, title="血氧探头脱落", kind=ArticleKind.BULLETIN)
    write(engineer, title="电池老化", body="更换电池。")
    client.force_login(manager)

    listing = client.get("/training/knowledge-articles/", {"q": "血氧 探头"}).content.decode()
    assert "血氧探头脱落" in listing and "电池老化" not in listing
    response = client.post(f"/training/knowledge-articles/{article.pk}/publish/", {})
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED


def test_an_engineer_is_not_offered_publishing(client, engineer):
    article = write(engineer)
    client.force_login(engineer)

    page = client.get(f"/training/knowledge-articles/{article.pk}/").content.decode()
    assert 'data-action="publish"' not in page
    refused = client.post(f"/training/knowledge-articles/{article.pk}/publish/", {})
    assert refused.status_code == 403


def test_a_customer_cannot_open_an_internal_article_page(client, engineer, manager, customer_a):
    article = published(engineer, manager)
    client.force_login(customer_a)

    assert client.get(f"/training/knowledge-articles/{article.pk}/").status_code == 404
    assert client.get(f"/training/knowledge-articles/{article.pk}/versions/1/").status_code == 404


# --- API --------------------------------------------------------------------------------------


def test_api_search_publish_and_versions(api, engineer, manager, monitor_model):
    writer = api.as_user(engineer)
    created = writer.post(
        "/api/v1/knowledge-articles/",
        {"title": "血氧探头接触不良", "body": "检查接口。", "device_models": [monitor_model.pk]},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    write(engineer, title="电池老化", body="更换电池。")

    found = writer.get("/api/v1/knowledge-articles/", {"q": "血氧 探头"}).json()
    assert [row["id"] for row in found["results"]] == [pk]

    refused = writer.post(f"/api/v1/knowledge-articles/{pk}/publish/", {}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"

    publisher = api.as_user(manager)
    answer = publisher.post(f"/api/v1/knowledge-articles/{pk}/publish/", {}, format="json")
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["revision"]) == ("published", 1)
    again = publisher.post(f"/api/v1/knowledge-articles/{pk}/publish/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"

    versions = writer.get(f"/api/v1/knowledge-articles/{pk}/versions/").json()
    assert [(row["revision"], row["title"]) for row in versions] == [(1, "血氧探头接触不良")]

    no_reason = publisher.post(f"/api/v1/knowledge-articles/{pk}/withdraw/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()["error"]["fields"]
    withdrawn = publisher.post(
        f"/api/v1/knowledge-articles/{pk}/withdraw/", {"reason": "已过时"}, format="json"
    )
    assert withdrawn.json()["status"] == "withdrawn"


def test_api_outside_readers_get_the_published_text(api, engineer, manager, dist_engineer):
    article = published(engineer, manager)
    article_update(actor=engineer, article=article, data={"body": "未发布的修改"})

    row = api.as_user(dist_engineer).get(f"/api/v1/knowledge-articles/{article.pk}/").json()

    assert row["body"] == "更换血氧探头后复测。"
