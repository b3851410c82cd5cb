import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_runs_every_process_the_platform_needs():
    services = compose()["services"]

    assert {"postgres", "redis", "minio", "web", "worker-default", "worker-media", "worker-matching", "beat"} <= set(
        services
    )
    for name in ("postgres", "redis", "minio", "web"):
        assert "healthcheck" in services[name], name
    assert services["web"]["command"][:3] == ["python", "-m", "config.web"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]


def test_docker_compose_has_a_worker_for_every_celery_queue():
    services = compose()["services"]
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {settings.CELERY_TASK_DEFAULT_QUEUE}

    consumed = set()
    for name, service in services.items():
        command = service.get("command", [])
        if name.startswith("worker-"):
            consumed.add(command[command.index("-Q") + 1])

    assert consumed == {"default", "media", "matching"}
    assert routed <= consumed


def test_docker_compose_sets_the_services_settings_read():
    app_environment = compose()["x-app"]["environment"]

    assert {"DATABASE_URL", "REDIS_URL", "MEDIA_STORAGE", "S3_ENDPOINT_URL", "S3_BUCKET"} <= set(app_environment)
    assert app_environment["MEDIA_STORAGE"] == "s3"
    assert app_environment["DATABASE_URL"].startswith("postgres://")
    assert app_environment["REDIS_URL"].startswith("redis://redis:")


def test_env_example_documents_every_variable_settings_read():
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    read = set()
    source = (ROOT / "config" / "settings.py").read_text()
    for function in ("env", "env_bool", "env_int", "env_list"):
        for chunk in source.split(f'{function}("')[1:]:
            read.add(chunk.split('"', 1)[0])

    assert read - {"XUEWEN_VAR_DIR", "CHANNEL_LAYER_PREFIX", "CELERY_BROKER_URL"} <= documented


def test_embedded_defaults_need_no_services(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "MEDIA_STORAGE"}}
    environment["XUEWEN_VAR_DIR"] = str(tmp_path)
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps(["
        "s.DATABASES['default']['ENGINE'], s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER,"
        "s.STORAGES['default']['BACKEND'], str(s.MEDIA_ROOT)]))"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(result.stdout.strip().splitlines()[-1]) == [
        "django.db.backends.sqlite3",
        "channels.layers.InMemoryChannelLayer",
        True,
        "django.core.files.storage.FileSystemStorage",
        str(tmp_path / "media"),
    ]


def test_the_web_launcher_turns_off_twisteds_multipart_parsing():
    from daphne import http_protocol

    from config import web

    original = http_protocol.WebRequest
    try:
        web.http_protocol.WebRequest = web.WebRequest
        factory = http_protocol.HTTPFactory(server=None)
        protocol = factory.buildProtocol(("127.0.0.1", 0))
        assert protocol.requestFactory is web.WebRequest
        assert issubclass(web.WebRequest, original)
    finally:
        http_protocol.WebRequest = original
