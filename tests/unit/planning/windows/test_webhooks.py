"""The notice webhook's rules: allowed hosts, the body's signature, delivery ids and retry spacing."""

from datetime import timedelta

import pytest

from maintenance_operator.planning.windows.webhooks import (
    delivery_id,
    host_problem,
    parse_patterns,
    retry_delay,
    signature,
)

ALLOWED = parse_patterns(" Hooks.Example.com, *.internal.example ,,")


def test_patterns_are_split_and_lower_cased() -> None:
    assert ALLOWED == ("hooks.example.com", "*.internal.example")
    assert parse_patterns("") == ()


@pytest.mark.parametrize(
    ("url", "allowed", "problem"),
    [
        pytest.param("https://hooks.example.com/notify", ALLOWED, None, id="exact-host"),
        pytest.param("https://HOOKS.example.com:8443/x", ALLOWED, None, id="case-and-port"),
        pytest.param("http://chat.internal.example/x", ALLOWED, None, id="glob"),
        pytest.param(
            "http://internal.example/x", ALLOWED, "host 'internal.example' is not allowed", id="glob-needs-a-label"
        ),
        pytest.param("http://hooks.example.com.evil.test/", ALLOWED, "is not allowed", id="suffix-trick"),
        pytest.param(
            "http://169.254.169.254/latest",
            ALLOWED,
            "(allowed: hooks.example.com, *.internal.example)",
            id="metadata-ip",
        ),
        pytest.param("https://hooks.example.com/", (), "(allowed: none); no request is sent", id="none-by-default"),
        pytest.param("https://user:pw@hooks.example.com/", ALLOWED, "credentials in the URL", id="credentials"),
        pytest.param("https://hooks.example.com:port/", ALLOWED, "is not a valid URL", id="bad-port"),
        pytest.param("ftp://hooks.example.com/", ALLOWED, "must be an http:// or https:// URL", id="scheme"),
    ],
)
def test_host_problem(url: str, allowed: tuple[str, ...], problem: str | None) -> None:
    found = host_problem(url, allowed)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # RFC 4231, test case 2.
    assert signature(b"Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_delivery_id_is_stable_per_batch() -> None:
    a = delivery_id("uid-1", "20261201T1400Z", timedelta(hours=24), ["b", "a"])
    assert a == delivery_id("uid-1", "20261201T1400Z", timedelta(days=1), ["a", "b"])
    assert a.startswith("uid-1/20261201T1400Z/1d/")
    assert a != delivery_id("uid-1", "20261201T1400Z", timedelta(days=1), ["a", "b", "c"])


def test_retries_double_up_to_a_minute() -> None:
    assert [retry_delay(n) for n in range(1, 9)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
