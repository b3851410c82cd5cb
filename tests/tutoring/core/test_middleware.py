import socket

import pytest
from django.urls import reverse

from tests.factories import StaffFactory
from tutoring.insights.models import DayFigures

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings) -> None:
    """The cache's Redis is unreachable (the insights cache their enrolment counts there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0"}
    }


def test_an_api_request_during_a_redis_outage_gets_a_retryable_503_in_chinese(client, redis_down):
    client.force_login(StaffFactory())

    response = client.get(reverse("insights:figures"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {
        "error": {"code": "unavailable", "message": "服务暂时不可用，请稍后重试。", "field": None}
    }
    assert not DayFigures.objects.exists()


def test_a_page_during_a_redis_outage_says_so_in_chinese(client, redis_down):
    client.force_login(StaffFactory())

    response = client.get(reverse("frontend:insights"))

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "服务暂时不可用，请稍后重试。" in response.content.decode()
