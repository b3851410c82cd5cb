import pytest
from django.conf import settings

from config.routers import ReplicaRouter
from tutoring.insights.models import DayFigures, RollupMark
from tutoring.questions.models import Question


def test_without_a_replica_every_read_goes_to_the_primary():
    router = ReplicaRouter()

    assert (router.db_for_read(DayFigures), router.db_for_read(Question)) == (None, None)


def test_with_a_replica_the_insights_read_from_it_and_everything_else_from_the_primary(monkeypatch):
    monkeypatch.setitem(settings.DATABASES, "replica", {**settings.DATABASES["default"]})
    router = ReplicaRouter()

    assert [router.db_for_read(model) for model in (DayFigures, RollupMark, Question)] == ["replica", "replica", None]
    assert [router.db_for_write(model) for model in (DayFigures, Question)] == [None, None]
    assert [router.allow_migrate(db, "insights") for db in ("replica", "default")] == [False, None]


@pytest.mark.django_db
def test_a_locked_read_of_the_rollups_goes_to_the_primary(monkeypatch):
    monkeypatch.setitem(settings.DATABASES, "replica", {**settings.DATABASES["default"]})

    assert RollupMark.objects.select_for_update().db == "default"
    assert RollupMark.objects.all().db == "replica"
