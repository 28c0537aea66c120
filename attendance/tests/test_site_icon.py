import pytest
from django.contrib.staticfiles import finders


def test_the_icon_file_exists():
    assert finders.find("favicon.svg")


@pytest.mark.django_db
def test_favicon_ico_points_at_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/favicon.svg"


@pytest.mark.django_db
def test_every_page_names_the_icon(client):
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/login/").content.decode()
