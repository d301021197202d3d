from slugkit import unique_slug


def test_free_base():
    assert unique_slug("post", set()) == "post"


def test_first_free_number():
    assert unique_slug("post", {"post", "post-2", "post-3"}) == "post-4"


def test_gap_is_reused():
    assert unique_slug("post", {"post", "post-3"}) == "post-2"


def test_separator():
    assert unique_slug("a_b", ["a_b"], separator="_") == "a_b_2"


def test_base_ending_in_number():
    assert unique_slug("top-10", {"top-10"}) == "top-10-2"
    assert unique_slug("top-10", {"top-10", "top-11", "top-10-2"}) == "top-10-3"


def test_numbered_base_is_not_renumbered():
    assert unique_slug("post-2", {"post", "post-2"}) == "post-2-2"
