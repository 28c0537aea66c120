"""Shared test fixtures: the named actors, and the rules for service-backed tests.

Tests marked `postgres` need PostgreSQL; those marked `redis` need Redis
(TEST_REDIS_URL or REDIS_URL: never one guessed); `browser` a Chromium.
With ROLLCALL_REQUIRE_SERVICES=1 (as in CI) a missing service fails the test;
otherwise (a laptop without the services) it is skipped with the reason.
"""

import os
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from attendance.models import Course, Enrollment, Student

REQUIRE_SERVICES = os.environ.get("ROLLCALL_REQUIRE_SERVICES") == "1"


def _missing(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (ROLLCALL_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def test_redis_url() -> str | None:
    """The Redis the tests may use: TEST_REDIS_URL, else REDIS_URL; none unless one is set."""
    return os.environ.get("TEST_REDIS_URL") or os.environ.get("REDIS_URL") or None


test_redis_url.__test__ = False  # a helper, not a test


def run_at_once(n: int, work) -> list:
    """Run `work(i)` in `n` threads released together; their results (or exceptions) in order.

    For races the database must decide: each thread has its own connection,
    closed when it is done so the test database can be dropped.
    """
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work(i)
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


run_at_once.__test__ = False


def in_thread(work) -> tuple[threading.Thread, dict]:
    """Start `work()` on its own thread and connection; the thread, and a dict that will
    hold its "result" or its "error"."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except Exception as exc:  # asserted on by the caller
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def wait_until_blocked_on_a_lock(thread, outcome: dict, timeout: float = 30.0) -> None:
    """Return once another connection waits for a lock (PostgreSQL): the thread reached
    the race. A thread that finished without waiting fails the test, with what it got.

    Callable inside a transaction: PostgreSQL keeps one pg_stat_activity snapshot per
    transaction unless told to drop it, so each look drops it first.
    """
    deadline = time.monotonic() + timeout
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                " AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            if not thread.is_alive():
                raise AssertionError(f"it finished without waiting for a lock: {outcome}")
            time.sleep(0.02)
    raise AssertionError("the other connection never waited for a lock")


DEBIAN_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
# As root, in a container, on a closed network: no sandbox, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_executable(playwright) -> str:
    """The Chromium the browser tests drive: CHROMIUM_PATH, else Debian's, else Playwright's own.

    With none, a browser test fails under ROLLCALL_REQUIRE_SERVICES=1 (CI) and is
    skipped elsewhere, saying how to get one.
    """
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        if os.path.isfile(configured) and os.access(configured, os.X_OK):
            return configured
        _missing(f"CHROMIUM_PATH={configured} is not an executable file")
    for candidate in DEBIAN_CHROMIUM:
        if os.path.isfile(candidate):
            return candidate
    bundled = playwright.chromium.executable_path
    if bundled and os.path.isfile(bundled):
        return bundled
    _missing(
        "no Chromium for the browser tests: `make debian-packages` installs Debian's "
        "(Playwright's own where apt is missing), or set CHROMIUM_PATH"
    )
    raise AssertionError("unreachable")  # _missing always raises


@pytest.fixture
def migrator():
    """A migration executor for a test that moves an app back and forward; afterwards
    every app is at its latest migration again, whatever the test stopped at (a
    later migration than the one tested would otherwise stay unapplied for the
    tests that follow on this database)."""
    from django.db.migrations.executor import MigrationExecutor

    yield MigrationExecutor(connection)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.fixture
def browser(monkeypatch):
    """A headless Chromium (see chromium_executable) for the tests marked `browser`."""
    # Playwright's sync API runs an event loop in this thread; the test's ORM
    # calls happen while it is idle, so Django's async guard may stand aside.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(pw), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # Connections the test opened while Playwright ran live in their own
            # context; close them here, or the test database cannot be dropped.
            connections.close_all()


AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# axe.run in the page; the violations of the impacts asked for, each with its
# rule's id, impact, help and the CSS targets of the nodes it failed on.
AXE_RUN = """async (impacts) => {
  const result = await window.axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => n.target.join(" ")),
      summaries: v.nodes.map((n) => n.failureSummary),
    }));
}"""


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (vendor/axe-core, test-only) on the page as it is now.

    The script goes in through the DevTools protocol, not a <script> tag, so
    the page's strict CSP (script-src 'self') neither blocks it nor is loosened.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8") + "\n;true")
    return page.evaluate(AXE_RUN, list(impacts))


axe_violations.__test__ = False


@pytest.fixture(autouse=True)
def _service_requirements(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://...")
    if request.node.get_closest_marker("redis"):
        import redis

        if test_redis_url() is None:
            _missing("needs Redis: set TEST_REDIS_URL=redis://127.0.0.1:6379/1 (or REDIS_URL)")
        try:
            redis.Redis.from_url(test_redis_url(), socket_connect_timeout=2).ping()
        except redis.exceptions.RedisError as exc:
            _missing(f"needs Redis at {test_redis_url()}: {exc}")


@pytest.fixture(autouse=True)
def _mail_through_the_outbox(settings):
    """As in production, Django's mail goes to the outbox; the drain delivers it to
    django.core.mail.outbox (pytest-django would otherwise bypass the outbox)."""
    settings.EMAIL_BACKEND = "outbox.backends.OutboxBackend"
    settings.OUTBOX_DELIVERY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture(autouse=True)
def _fresh_content_types():
    """A transactional test's database is flushed and its content types made again, maybe
    under other ids; Django's in-process cache of them would still name the old ones, and
    admin's log entry then fails its foreign key."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def make(username: str, *, staff: bool = False, password: str = "pw") -> object:
        user = get_user_model().objects.create_user(
            username=username, password=password, is_staff=staff
        )
        return user

    return make


@pytest.fixture
def lecturer(make_user):
    return make_user("lecturer")


@pytest.fixture
def office_user(make_user):
    """The school office: neither staff nor lecturer; keeps students and fees."""
    from payments.permissions import ensure_fees_office_group

    user = make_user("office")
    user.groups.add(ensure_fees_office_group())
    return user


@pytest.fixture
def student_user(make_user, students):
    """The first of `students` (enrolled in `course`) with a login of their own."""
    user = make_user("student")
    Student.objects.filter(pk=students[0].pk).update(user=user)
    students[0].refresh_from_db()
    return user


@pytest.fixture
def other_lecturer(make_user):
    return make_user("other_lecturer")


@pytest.fixture
def staff_user(make_user):
    return make_user("admin", staff=True)


@pytest.fixture
def make_students(db):
    def make(n: int, *, course: Course | None = None, prefix: str = "S") -> list[Student]:
        start = Student.objects.count()
        students = Student.objects.bulk_create(
            Student(
                student_number=f"{prefix}{start + i:05d}",
                first_name=f"First{start + i}",
                last_name=f"Last{start + i}",
            )
            for i in range(n)
        )
        if course is not None:
            Enrollment.objects.bulk_create(Enrollment(course=course, student=s) for s in students)
        return students

    return make


@pytest.fixture
def course(db, lecturer):
    c = Course.objects.create(code="MATH101", title="Calculus I")
    c.lecturers.add(lecturer)
    return c


@pytest.fixture
def other_course(db, other_lecturer):
    c = Course.objects.create(code="HIST201", title="Modern History")
    c.lecturers.add(other_lecturer)
    return c


@pytest.fixture
def students(make_students, course):
    return make_students(5, course=course)


@pytest.fixture
def ada(students, course):
    """Ada Lovelace, enrolled in `course` beside `students`; her email shares no word
    with her name, so a search can tell which field matched."""
    student = Student.objects.create(
        student_number="S90001",
        first_name="Ada",
        last_name="Lovelace",
        email="countess@analytical.example",
    )
    Enrollment.objects.create(course=course, student=student)
    return student
