"""The admin's file inputs in Chromium: a Chinese button, the chosen file's name beside it, the browser's own
(English) button out of sight."""

import pytest
from playwright.sync_api import expect

from tests.factories import AdministratorFactory
from tests.frontend.conftest import page_errors

# Committed for real, so the server sees it; serialized_rollback restores the reference data afterwards.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_the_admin_file_input_is_chinese_and_names_the_chosen_file(live_stack, tablet, sign_in):
    errors = page_errors(tablet)
    sign_in(AdministratorFactory(), tablet)

    tablet.goto(f"{live_stack.url}/admin/library/entry/add/")
    choice = tablet.locator("label.file-choice")
    name = choice.locator(".file-choice-name")
    expect(choice.locator(".button")).to_have_text("选择文件")
    expect(name).to_have_text("未选择文件")
    native = tablet.locator("#id_photo").bounding_box()
    tablet.set_input_files("#id_photo", files=[{"name": "苹果.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8"}])
    expect(name).to_have_text("苹果.jpg")
    tablet.set_input_files("#id_photo", files=[])

    expect(name).to_have_text("未选择文件")
    assert (native["width"], native["height"]) == (1, 1)
    assert tablet.locator("#id_photo").evaluate("input => getComputedStyle(input).opacity") == "0"
    assert errors == []
