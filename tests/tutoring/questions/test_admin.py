import re

import pytest

from tests.admin_pages import admin_url, administrator_client, english_on, rows
from tests.factories import AttachmentFactory
from tutoring.questions.models import Attachment, Question

pytestmark = pytest.mark.django_db


def test_a_questions_attachments_are_shown_read_only():
    attachment = AttachmentFactory(recognized_text="12-5=?")
    before = rows(Attachment)

    page = administrator_client().get(admin_url(Question, "change", attachment.question_id)).content.decode()

    assert re.search(r'<td class="field-recognized_text">\s*<p>(.*?)</p>', page)[1] == "12-5=?"
    assert 'name="attachments-0-recognized_text"' not in page
    assert "添加另一个" not in page
    assert 'name="attachments-0-DELETE"' not in page
    assert english_on(page) == []
    assert rows(Attachment) == before
