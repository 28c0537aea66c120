"""The suite's own rules for what it needs: Redis only when named, a Chromium found or explained."""

import sys
from types import SimpleNamespace

import pytest

import conftest


@pytest.fixture
def outside_ci(monkeypatch):
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", False)


@pytest.fixture
def in_ci(monkeypatch):
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", True)


def no_bundled_chromium(tmp_path):
    return SimpleNamespace(chromium=SimpleNamespace(executable_path=str(tmp_path / "none")))


def test_no_redis_is_assumed_when_none_is_named(monkeypatch):
    monkeypatch.delenv("TEST_REDIS_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert conftest.test_redis_url() is None
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/4")
    assert conftest.test_redis_url() == "redis://127.0.0.1:6379/4"
    monkeypatch.setenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    assert conftest.test_redis_url() == "redis://127.0.0.1:6379/5"


def test_the_browser_comes_from_chromium_path_first(monkeypatch, tmp_path):
    monkeypatch.setenv("CHROMIUM_PATH", sys.executable)  # any executable file will do here
    assert conftest.chromium_executable(no_bundled_chromium(tmp_path)) == sys.executable


def test_a_wrong_chromium_path_skips_outside_ci(monkeypatch, tmp_path, outside_ci):
    monkeypatch.setenv("CHROMIUM_PATH", str(tmp_path / "chrome"))
    with pytest.raises(pytest.skip.Exception, match="is not an executable file"):
        conftest.chromium_executable(no_bundled_chromium(tmp_path))


def test_no_chromium_at_all_skips_outside_ci_with_what_to_do(monkeypatch, tmp_path, outside_ci):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setattr(conftest, "DEBIAN_CHROMIUM", (str(tmp_path / "chromium"),))
    with pytest.raises(pytest.skip.Exception, match="make debian-packages"):
        conftest.chromium_executable(no_bundled_chromium(tmp_path))


def test_no_chromium_fails_in_ci(monkeypatch, tmp_path, in_ci):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setattr(conftest, "DEBIAN_CHROMIUM", (str(tmp_path / "chromium"),))
    with pytest.raises(pytest.fail.Exception, match="ROLLCALL_REQUIRE_SERVICES=1"):
        conftest.chromium_executable(no_bundled_chromium(tmp_path))


def test_playwrights_own_chromium_is_the_fallback(monkeypatch, tmp_path):
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setattr(conftest, "DEBIAN_CHROMIUM", (str(tmp_path / "chromium"),))
    bundled = tmp_path / "ms-playwright" / "chrome"
    bundled.parent.mkdir()
    bundled.write_text("")
    found = conftest.chromium_executable(
        SimpleNamespace(chromium=SimpleNamespace(executable_path=str(bundled)))
    )
    assert found == str(bundled)
