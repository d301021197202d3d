from slugkit import unique_slug


def test_free_base():
    assert unique_slug("post", set()) == "post"


def test_first_free_number():
    assert unique_slug("post", {"post", "post-2", "post-3"}) == "post-4"


def test_gap_is_reused():
    assert unique_slug("post", {"post", "post-3"}) == "post-2"


def test_separator():
    assert unique_slug("a_b", ["a_b"], separator="_") == "a_b_2"
