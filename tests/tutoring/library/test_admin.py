import pytest

from tests.admin_pages import administrator_client, assert_read_only
from tests.factories import MatchFactory
from tutoring.library.models import Feedback
from tutoring.library.services import question_feedback

pytestmark = pytest.mark.django_db


def test_matches_and_feedback_are_read_only_records():
    match = MatchFactory()
    question_feedback(question=match.question, choice="still_stuck")
    client = administrator_client()

    assert_read_only(client, match)
    assert_read_only(client, Feedback.objects.get())
