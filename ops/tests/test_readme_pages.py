"""README's pages table names every page a person can open (GET), so none is undocumented."""

import re
from pathlib import Path

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

README = Path(settings.BASE_DIR) / "README.md"
NOT_PAGES = ("admin/", "api/", "favicon.ico")  # Django admin and the API have their own sections


def routes(patterns=None, prefix: str = "") -> list[str]:
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith(NOT_PAGES):
                found += routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and not route.startswith(NOT_PAGES):
            found.append(route)
    return found


def documented() -> str:
    """The pages table, with every placeholder (`<key>`, `<token>`) written `<id>`."""
    readme = README.read_text()
    table = readme.split("\n## Pages\n", 1)[1].split("\n## ", 1)[0]
    return re.sub(r"<\w+>", "<id>", table)


def as_readme(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "<id>", route)


def test_every_page_a_person_opens_is_in_the_pages_table(admin_client):
    table = documented()
    missing = []
    for route in routes():
        path = "/" + re.sub(r"<(?:\w+:)?\w+>", "1", route)
        # POST-only actions answer 405 to a GET before looking anything up: not pages.
        if admin_client.get(path).status_code == 405:
            continue
        page = as_readme(route)
        name = page.rsplit("/", 1)[-1]
        if f"`{page}`" not in table and not (name and f"`{name}`" in table):
            missing.append(page)
    assert missing == [], "\n".join(missing)


def test_the_table_names_the_pages_newcomers_missed():
    table = documented()
    for page in ("/students/", "/students/<id>/", "/payments/<id>/receipt/", "/device/"):
        assert f"`{page}`" in table
    assert "`/api/docs/`" in table


def test_the_code_map_names_every_management_command_of_the_project():
    from django.core.management import get_commands

    code_map = README.read_text().split("\n## Code map\n", 1)[1]
    ours = {
        name
        for name, app in get_commands().items()
        if (Path(settings.BASE_DIR) / app.split(".")[0]).is_dir()
    }
    assert ours >= {"cleanup_sessions", "seed_demo", "simulate_devices"}
    assert {name for name in ours if name not in code_map} == set()
