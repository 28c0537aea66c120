"""docker-compose.yml, the Dockerfile and the README stay in step with the code."""

import re

import yaml

from attendance.tests.conftest import ROOT


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_variables() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(r'(?:env(?:str|bool|int|list)|network_list)\(\s*"([A-Z_]+)"', source))


def test_compose_runs_the_production_shape():
    services = compose()["services"]
    assert {"postgres", "redis", "migrate", "web1", "web2", "sweeper", "nginx"} <= set(services)
    for web in ("web1", "web2"):
        assert services[web]["command"][0] == "daphne"
        assert services[web]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"][-2:] == ["migrate", "--noinput"]
    assert services["sweeper"]["command"][2:6] == ["cleanup_sessions", "--loop", "--interval", "60"]


def test_every_app_service_is_in_production_mode_on_postgres_and_redis():
    services = compose()["services"]
    for name in ("migrate", "web1", "web2", "sweeper"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "0"
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["REDIS_URL"].startswith("redis://")
        assert "*" not in env["ALLOWED_HOSTS"]
        assert set(env) <= settings_variables()


def test_nginx_balances_both_web_processes_and_passes_websockets():
    upstream = (ROOT / "deploy" / "nginx" / "upstream.conf").read_text()
    assert "server web1:8000 resolve" in upstream and "server web2:8000 resolve" in upstream
    conf = (ROOT / "deploy" / "nginx" / "rollcall.conf").read_text()
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    volumes = compose()["services"]["nginx"]["volumes"]
    assert volumes[0].startswith("./deploy/nginx/rollcall.conf:")
    assert volumes[1].startswith("./deploy/nginx/upstream.conf:")


def test_the_image_serves_daphne_on_python_311():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11" in dockerfile
    assert "collectstatic" in dockerfile
    assert '"daphne"' in dockerfile and "config.asgi:application" in dockerfile


def test_the_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    # Only the settings table: other sections have tables of their own (fee statuses, say).
    table = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, flags=re.M))
    assert settings_variables() == documented


def test_the_readme_keeps_the_sections_other_parts_fill():
    readme = (ROOT / "README.md").read_text()
    for heading in ("## Real time", "## JSON API", "## School fees", "## Code map"):
        assert heading in readme
