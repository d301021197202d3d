import pytest
from slugkit import slugify
from slugkit.slugify import to_ascii


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Hello, World!", "hello-world"),
        ("  many   spaces  ", "many-spaces"),
        ("Crème brûlée: 5 Tipps für Anfänger", "creme-brulee-5-tipps-fur-anfanger"),
        ("Straße & Co.", "strasse-and-co"),
        ("Ørsted Æble", "orsted-aeble"),
        ("日本語", ""),
        ("--already-a-slug--", "already-a-slug"),
    ],
    ids=["punctuation", "spaces", "accents", "special", "nordic", "cjk", "slug"],
)
def test_slugify(title, slug):
    assert slugify(title) == slug


def test_custom_separator():
    assert slugify("Hello World", separator="_") == "hello_world"


def test_max_length_cuts_at_word_boundary():
    assert slugify("the quick brown fox", max_length=12) == "the-quick"


def test_max_length_single_long_word():
    assert slugify("supercalifragilistic", max_length=5) == "super"


def test_to_ascii():
    assert to_ascii("Łódź") == "Lodz"
