import pytest

from tutoring.library.index import index_reset


@pytest.fixture(autouse=True)
def index_dir(tmp_path, settings):
    """Each test has its own index snapshot folder and starts with no index in memory."""
    settings.XUEWEN = {**settings.XUEWEN, "INDEX_DIR": str(tmp_path / "index")}
    index_reset()
    yield tmp_path / "index"
    index_reset()
