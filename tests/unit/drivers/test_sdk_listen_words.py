"""The words an emulator's bind error uses, as `edge-agent simulate` prints them."""

from __future__ import annotations

import socket

import pytest

from drivers.sdk.listen import bind_error


def test_an_address_that_does_not_resolve_is_said_in_the_resolvers_words() -> None:
    # A name lookup's error codes are negative and are not errnos: before, this read
    # "Unknown error -8" (or -2 for a host name that does not resolve).
    with pytest.raises(socket.gaierror) as lookup:  # answered from this PC alone, no DNS asked
        socket.getaddrinfo("localhost", "no-such-service", type=socket.SOCK_STREAM)
    message = bind_error("tcp", "localhost", 4352, lookup.value).message
    assert message == f"cannot listen on tcp localhost:4352: {lookup.value.strerror}"
    assert "Unknown error" not in message


def test_a_taken_port_keeps_the_os_words_and_the_hint() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with socket.socket() as again, pytest.raises(OSError) as taken:
            again.bind(("127.0.0.1", port))
    message = bind_error("tcp", "127.0.0.1", port, taken.value).message
    assert message == (
        f"cannot listen on tcp 127.0.0.1:{port}: Address already in use (another program on "
        "that port?)"
    )
