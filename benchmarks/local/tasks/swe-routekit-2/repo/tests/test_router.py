import pytest
from routekit import NotFound, Router


def show_user(): ...
def create_user(): ...
def update_user(): ...


@pytest.fixture
def router():
    router = Router()
    router.add("GET", "/users/{id:int}", show_user, name="user")
    router.add("PUT", "/users/{id:int}", update_user)
    router.add("post", "/users", create_user, name="users")
    return router


def test_match(router):
    assert router.match("GET", "/users/42") == (show_user, {"id": 42})
    assert router.match("post", "/users") == (create_user, {})


def test_head_uses_get(router):
    assert router.match("HEAD", "/users/1") == (show_user, {"id": 1})


def test_not_found(router):
    with pytest.raises(NotFound):
        router.match("GET", "/nothing")


def test_first_route_wins():
    router = Router()
    router.add("GET", "/items/{name}", show_user)
    router.add("GET", "/items/new", create_user)
    assert router.match("GET", "/items/new")[0] is show_user


def test_url_for(router):
    assert router.url_for("user", id=7) == "/users/7"
    assert router.url_for("users") == "/users"


def test_url_for_unknown(router):
    with pytest.raises(KeyError):
        router.url_for("nope")


def test_duplicate_name(router):
    with pytest.raises(ValueError):
        router.add("GET", "/x", show_user, name="user")
