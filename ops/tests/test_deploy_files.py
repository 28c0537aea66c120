"""docker-compose.yml, the image and the nginx files, read as a newcomer's first run meets them."""

import fnmatch
import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = ("migrate", "web1", "web2", "sweeper")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def healthcheck_command(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test[1:]) if isinstance(test, list) else test


def test_postgres_is_healthy_only_when_it_answers_over_tcp():
    # The image's first start serves the Unix socket only while it initialises:
    # a socket check passes then and migrate meets "connection refused".
    command = healthcheck_command(compose()["services"]["postgres"])
    assert "pg_isready" in command
    assert re.search(r"-h\s+127\.0\.0\.1\b", command), command


def test_the_web_processes_are_healthy_when_ready():
    for name in ("web1", "web2"):
        command = healthcheck_command(compose()["services"][name])
        assert "http://127.0.0.1:8000/readyz" in command


def test_web_and_the_sweeper_wait_for_migrations_and_redis():
    services = compose()["services"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web1", "web2", "sweeper"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_the_sweeper_is_restarted_when_it_fails_and_exposes_its_metrics():
    sweeper = compose()["services"]["sweeper"]
    assert sweeper["restart"] in {"on-failure", "unless-stopped", "always"}
    assert "--metrics-port" in sweeper["command"]
    assert "/metrics" in healthcheck_command(sweeper)


def test_the_image_is_built_once_and_every_app_service_runs_it():
    services = compose()["services"]
    builders = [name for name, service in services.items() if "build" in service]
    assert builders == ["migrate"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"rollcall:latest"}


def test_the_image_runs_as_a_user_that_is_not_root():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    cmd = max(i for i, line in enumerate(lines) if line.startswith("CMD "))
    last_user = max(i for i, line in enumerate(lines) if line.startswith("USER "))
    assert last_user < cmd


def dockerignored(path: str) -> bool:
    """Docker's rule: the last matching pattern decides; `!` re-includes."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/").removeprefix("**/")
        parts = Path(path).parts
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts))) or (
            any(fnmatch.fnmatch(part, pattern) for part in parts)
        ):
            ignored = not negate
    return ignored


def test_secrets_and_local_state_stay_out_of_the_image():
    for path in (
        ".simulate_devices.json",  # device tokens
        ".env",  # SECRET_KEY
        ".git/config",
        "db.sqlite3",
        ".venv/bin/python",
        "attendance/__pycache__/models.cpython-311.pyc",
        "logs/rollcall.log",
    ):
        assert dockerignored(path), path
    for path in ("manage.py", "config/settings.py", "requirements.txt", ".env.example"):
        assert not dockerignored(path), path


def test_every_variable_compose_asks_for_is_in_env_example():
    source = (ROOT / "docker-compose.yml").read_text()
    asked = set(re.findall(r"\$\{([A-Z_]+)", source))
    example = (ROOT / ".env.example").read_text()
    offered = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.M))
    assert asked - {"SECRET_KEY"} <= offered
    # The key is made once, into .env, and kept: a key per `up` signs everyone out.
    assert "SECRET_KEY=" in example and "secrets.token_urlsafe" in example
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_secret_key_missing_stops_compose_with_a_pointer_to_env_example():
    env = compose()["x-app"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert ".env.example" in env["SECRET_KEY"]


def test_nginx_passes_the_tls_proxys_scheme_and_overwrites_client_addresses():
    conf = (ROOT / "deploy" / "nginx" / "rollcall.conf").read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" not in conf
    assert "proxy_set_header X-Forwarded-Proto $forwarded_proto;" in conf
    # Never appended to what the client sent ($proxy_add_x_forwarded_for).
    assert "$proxy_add_x_forwarded_for" not in conf
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in conf


def test_nginx_looks_the_web_processes_up_again_through_dockers_dns():
    upstream = (ROOT / "deploy" / "nginx" / "upstream.conf").read_text()
    assert re.search(r"^resolver 127\.0\.0\.11\b", upstream, flags=re.M)
    assert re.search(r"^\s*zone rollcall ", upstream, flags=re.M)
    image = compose()["services"]["nginx"]["image"]
    major, minor = map(int, image.split(":")[1].split(".")[:2])
    assert (major, minor) >= (1, 28)  # `server ... resolve` is in open-source nginx since 1.27.3


def test_nginx_lets_through_the_largest_upload_the_application_takes():
    # nginx answers 413 to a body over its limit before Django sees it: an import
    # file or an excuse attachment the application accepts must fit under it.
    conf = (ROOT / "deploy" / "nginx" / "rollcall.conf").read_text()
    size, unit = re.search(r"client_max_body_size\s+(\d+)([km]?);", conf).groups()
    limit = int(size) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit]
    assert limit > settings.IMPORT_MAX_BYTES
    assert limit > settings.EXCUSE_ATTACHMENT_MAX_BYTES


def _directive(text: str, name: str) -> str:
    [value] = re.findall(rf"^\s*{name}\s+([^;]+);", text, re.MULTILINE)
    return value


def test_compose_nginx_holds_ten_thousand_devices_on_one_worker():
    main = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    connections = int(_directive(main, "worker_connections"))
    files = int(_directive(main, "worker_rlimit_nofile"))
    # Two connections per device socket (the phone's, the one to daphne), and some pages,
    # on the one worker a one-CPU host runs.
    assert connections >= 2 * 10_000 + 1_000
    assert files >= connections
    assert "include /etc/nginx/conf.d/*.conf;" in main  # the two files compose mounts
    nginx = compose()["services"]["nginx"]
    assert "./deploy/nginx/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["ulimits"]["nofile"] >= files


def test_compose_nginx_files_pass_nginx_own_check(tmp_path):
    """`nginx -t` on the three files as compose mounts them, with paths moved into tmp_path.

    The machine's nginx may predate `resolve` (1.27.3), so the upstream is written
    plainly here; its own file is read by the topology test's nginx.
    """
    import subprocess

    from conftest import _missing
    from ops.tests.topology import nginx_binary

    nginx = nginx_binary()
    if nginx is None:
        _missing("needs nginx (Debian's package `nginx`): run `make debian-packages`")
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "default.conf").write_text((ROOT / "deploy" / "nginx" / "rollcall.conf").read_text())
    (conf_d / "upstream.conf").write_text("upstream rollcall { server 127.0.0.1:8000; }\n")
    main = (ROOT / "deploy" / "nginx" / "nginx.conf").read_text()
    main = main.replace("user nginx;", "")  # the image's user; this machine may not have it
    main = main.replace("/var/log/nginx/", f"{tmp_path}/").replace("/run/", f"{tmp_path}/")
    main = main.replace("/etc/nginx/conf.d/", f"{conf_d}/")
    (tmp_path / "nginx.conf").write_text(main)
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
