import pytest

from scalecluster import config_context, get_config
from scalecluster._config import effective_n_threads, rows_per_block


def test_context_restores_and_blocks_follow_budget():
    before = get_config()
    with config_context(working_memory=1, n_threads=1):
        assert get_config()["working_memory"] == 1
        assert effective_n_threads() == 1
        assert rows_per_block(1024, 10**6) == 1024  # 1 MiB / 1 KiB per row
    assert get_config() == before
    assert rows_per_block(1024, 10) == 10  # never more than the rows there are


@pytest.mark.parametrize("kwargs", [{"working_memory": 0}, {"working_memory": "big"}, {"n_threads": 0}])
def test_bad_settings(kwargs):
    with pytest.raises(ValueError, match="setting must be"):
        with config_context(**kwargs):
            pass
