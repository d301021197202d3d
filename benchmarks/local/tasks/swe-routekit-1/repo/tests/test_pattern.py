import pytest
from routekit.pattern import compile_pattern


def test_literal():
    assert compile_pattern("/health").match("/health") == {}
    assert compile_pattern("/health").match("/healthz") is None


def test_str_param_is_one_segment():
    pattern = compile_pattern("/files/{name}")
    assert pattern.match("/files/a.txt") == {"name": "a.txt"}
    assert pattern.match("/files/a/b") is None


def test_int_param():
    pattern = compile_pattern("/users/{id:int}")
    assert pattern.match("/users/42") == {"id": 42}
    assert pattern.match("/users/abc") is None


def test_path_param():
    assert compile_pattern("/static/{rest:path}").match("/static/css/site.css") == {
        "rest": "css/site.css"
    }


def test_slug_param():
    pattern = compile_pattern("/blog/{slug:slug}")
    assert pattern.match("/blog/hello-world") == {"slug": "hello-world"}
    assert pattern.match("/blog/Hello") is None


def test_regex_characters_in_literal_are_escaped():
    assert compile_pattern("/v1.0/items").match("/v1x0/items") is None


def test_bad_templates():
    with pytest.raises(ValueError):
        compile_pattern("no-slash")
    with pytest.raises(ValueError):
        compile_pattern("/{a}/{a}")
    with pytest.raises(ValueError):
        compile_pattern("/{a:float}")


def test_build():
    assert compile_pattern("/users/{id:int}/posts/{slug}").build({"id": 3, "slug": "x"}) == (
        "/users/3/posts/x"
    )


def test_build_missing_param():
    with pytest.raises(KeyError):
        compile_pattern("/users/{id:int}").build({})
