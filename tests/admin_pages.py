"""The admin as an administrator reads it: Chinese pages, and records that can be read but not changed."""

import html
import re

from django.db.models import Model
from django.test import Client
from django.urls import reverse

from tests.catalogue import english_in
from tests.factories import AdministratorFactory


def administrator_client() -> Client:
    """A signed-in administrator whose browser asks for Simplified Chinese."""
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(AdministratorFactory())
    return client


def visible_text(page: str) -> str:
    """What a reader sees of a page: no scripts, styles, comments or tags, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", page, flags=re.DOTALL | re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def english_on(page: str) -> list[str]:
    """The catalogue's English source strings that a page shows untranslated."""
    return english_in(visible_text(page))


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def rows(model: type[Model]) -> list[dict]:
    return list(model._default_manager.order_by("pk").values())


def assert_read_only(client: Client, record: Model) -> None:
    """A record shows on its list and its page, read-only: no add link, no actions, no save, and every way to
    add, change or delete it answers 403 and changes nothing."""
    model = type(record)
    before = rows(model)
    changelist = client.get(admin_url(model, "changelist"))
    page = client.get(admin_url(model, "change", record.pk))

    assert changelist.status_code == 200
    assert admin_url(model, "add") not in changelist.content.decode()
    assert 'name="action"' not in changelist.content.decode()
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_url(model, "delete", record.pk) not in page.content.decode()
    assert client.get(admin_url(model, "add")).status_code == 403
    assert client.post(admin_url(model, "add"), {}).status_code == 403
    assert client.post(admin_url(model, "change", record.pk), {}).status_code == 403
    assert client.get(admin_url(model, "delete", record.pk)).status_code == 403
    assert client.post(admin_url(model, "delete", record.pk), {"post": "yes"}).status_code == 403
    bulk = client.post(
        admin_url(model, "changelist"), {"action": "delete_selected", "_selected_action": [record.pk], "post": "yes"}
    )
    assert bulk.status_code == 200  # the list again: no action to run
    assert rows(model) == before
