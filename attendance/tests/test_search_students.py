"""search_students: the one search rule behind the fee pages and the API."""

import pytest

from attendance.models import Student
from attendance.selectors import search_students


def _found(text: str) -> set[str]:
    return set(
        search_students(Student.objects.all(), text=text).values_list("student_number", flat=True)
    )


@pytest.mark.parametrize(
    "text",
    [
        "ada lovelace",
        "Lovelace ADA",
        "  ada   love  ",
        "countess@analytical.example",
        "analytical",
        "S90001",
        "s9000 ada",
        "ada countess",
    ],
)
def test_it_finds_a_student_when_every_word_matches_a_field(ada, text):
    assert _found(text) == {ada.student_number}


@pytest.mark.parametrize("text", ["ada babbage", "lovelace nobody", "nobody-has-this"])
def test_a_word_that_matches_nothing_leaves_no_student(ada, text):
    assert _found(text) == set()


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_or_blank_text_filters_nothing(ada, students, text):
    assert _found(text) == {s.student_number for s in [*students, ada]}


def test_it_treats_like_wildcards_as_plain_characters(ada):
    assert _found("%") == set()
    assert _found("_") == set()


def test_it_is_one_query_however_many_words(ada, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert _found("a d a l o v e l a c e") == {ada.student_number}
