"""The benchmark's minimal HTTP/1.1 load client (bench/load.py) against a local asyncio server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bench.load import BenchRequest, Connection, HttpError, count_repeats, total_of

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def run(coroutine: Coroutine[Any, Any, None]) -> None:
    """On a thread of its own: an earlier test in this process (the browser tests) may leave
    an event loop running on the main thread, where ``asyncio.run`` then refuses."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


async def serve(handler: Handler, client: Callable[[int], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        await client(port)


async def read_request(reader: asyncio.StreamReader) -> str:
    return (await reader.readuntil(b"\r\n\r\n")).decode()


def test_keep_alive_content_length_and_chunked() -> None:
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{"total":42}')
        seen.append(await read_request(reader))  # the same connection again
        writer.write(
            b"HTTP/1.1 422 Unprocessable Entity\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    async def client(port: int) -> None:
        connection = Connection("127.0.0.1", port, keep_alive=True)
        first = await connection.get("/api/v1/search?q=geld")
        assert (first.status, total_of(first.body)) == (200, 42)
        second = await connection.get("/api/v1/search?theme=x")
        assert (second.status, second.body) == (422, b"hello world")
        await connection.close()

    run(serve(handler, client))
    assert seen[0].startswith("GET /api/v1/search?q=geld HTTP/1.1\r\nHost: 127.0.0.1:")
    assert "Connection: close" not in seen[0]
    assert seen[1].startswith("GET /api/v1/search?theme=x HTTP/1.1")


def test_connection_close_and_a_body_until_the_end() -> None:
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await read_request(reader))
        writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"items":[],"total":0}')
        await writer.drain()
        writer.close()

    async def client(port: int) -> None:
        connection = Connection("127.0.0.1", port, keep_alive=False)
        for _ in range(2):  # a new connection per request
            response = await connection.get("/x")
            assert total_of(response.body) == 0

    run(serve(handler, client))
    assert len(seen) == 2
    assert all("Connection: close\r\n" in request for request in seen)


@pytest.mark.parametrize(
    "answer", [b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\ncut off", b"nonsense\r\n\r\n"]
)
def test_a_broken_answer_is_an_error(answer: bytes) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    async def client(port: int) -> None:
        with pytest.raises(HttpError):
            await Connection("127.0.0.1", port, keep_alive=True).get("/x")

    run(serve(handler, client))


def test_total_is_the_field_not_a_word_in_a_text() -> None:
    body = b'{"items":[{"summary":"\\"total\\":7 and \\"total\\":8"}],"total":1234,"page":1}'
    assert total_of(body) == 1234


def test_repeats_count_query_strings_sent_before() -> None:
    sent: set[str] = set()
    first = [BenchRequest("text", [("q", "geld")]), BenchRequest("text", [("q", "geld")])]
    assert count_repeats(first, sent) == 1
    second = [BenchRequest("text", [("q", "geld")]), BenchRequest("geo", [("lat", "52")])]
    assert count_repeats(second, sent) == 1
