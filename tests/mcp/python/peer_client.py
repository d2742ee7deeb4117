"""An MCP client for Lampart's tests, built on the official MCP Python SDK (`mcp`).

It stands for a real third-party client in front of the Lampart proxy; a Rust twin implements
the same protocol, and the tests are shared.

Usage:
    peer_client.py --url URL [--header 'Name: value']...   streamable HTTP
    peer_client.py -- COMMAND [ARGS...]                     launch COMMAND, talk over its stdio

It connects with the `initialize` handshake and prints
    {"initialized": {"server": NAME, "protocolVersion": V}}
then runs the operations read from stdin, one JSON object a line:
    {"op":"list_tools"}                 {"op":"call","tool":NAME,"args":{...}}
    {"op":"list_resources"}             {"op":"read_resource","uri":URI}
    {"op":"ping"}                       {"op":"get_prompt","name":NAME,"args":{...}}
printing one line for each: {"ok": RESULT}, or {"error": {"code": CODE, "message": MSG}} when
the server answered with a JSON-RPC error, or {"error": {"code": null, "message": MSG}} for any
other failure (timeout after 30 s, connection lost, bad operation line). It exits 0 when stdin
ends, and 1 (with one line on stderr) when it cannot connect or initialize.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import mcp_types as types
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

CLIENT_NAME = "python-mcp-peer-client"
CLIENT_VERSION = "1.0.0"
OP_TIMEOUT = 30.0
INIT_TIMEOUT = 30.0
USAGE = "usage: peer_client.py --url URL [--header 'Name: value']... | peer_client.py -- COMMAND [ARGS...]"

# Codes the SDK makes up itself and never reads off the wire: not the server's answer.
SDK_ONLY_CODES = {types.CONNECTION_CLOSED, types.REQUEST_TIMEOUT}


class Usage(Exception):
    pass


def parse_args(argv: list[str]) -> tuple[str | None, dict[str, str], list[str]]:
    """(url, headers, command) from the command line; exactly one of url and command is set."""
    url: str | None = None
    headers: dict[str, str] = {}
    command: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            command = argv[i + 1 :]
            if not command:
                raise Usage("no command after --")
            break
        if arg in ("--url", "--header") and i + 1 >= len(argv):
            raise Usage(f"{arg} needs a value")
        if arg == "--url":
            url = argv[i + 1]
        elif arg == "--header":
            name, sep, value = argv[i + 1].partition(":")
            if not sep or not name.strip():
                raise Usage(f"--header wants 'Name: value', got {argv[i + 1]!r}")
            headers[name.strip()] = value.strip()
        else:
            raise Usage(f"unknown argument {arg!r}")
        i += 2
    if (url is None) == (not command):
        raise Usage("give either --url or -- COMMAND")
    if command and headers:
        raise Usage("--header only goes with --url")
    return url, headers, command


def emit(line: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


def dump(result: Any) -> dict[str, Any]:
    """A result as JSON. Only the fields set from the wire: the SDK's models are shared by all
    protocol versions and would add defaults of later ones (`resultType`, `ttlMs`, ...)."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)


def failure(code: int | None, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def operation(session: ClientSession, op: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    """The SDK call an operation line asks for; its params are checked here, before sending.

    Each makes exactly one request. Not `session.call_tool`: for a tool it has not listed yet,
    that one sends a tools/list of its own first (to validate structured output).
    """
    kind = op.get("op")
    if kind == "list_tools":
        return lambda: session.list_tools()
    if kind == "call":
        call = types.CallToolRequest(params=types.CallToolRequestParams(name=op["tool"], arguments=op.get("args")))
        return lambda: session.send_request(call, types.CallToolResult)
    if kind == "read_resource":
        read = types.ReadResourceRequestParams(uri=op["uri"])
        return lambda: session.read_resource(read.uri)
    if kind == "get_prompt":
        get = types.GetPromptRequestParams(name=op["name"], arguments=op.get("args"))
        return lambda: session.get_prompt(get.name, get.arguments)
    if kind == "list_resources":
        return lambda: session.list_resources()
    if kind == "ping":
        return lambda: session.send_ping()
    raise ValueError(f"unknown op {kind!r}")


async def run_op(session: ClientSession, line: str) -> dict[str, Any]:
    try:
        op = json.loads(line)
        if not isinstance(op, dict):
            raise ValueError("an operation is a JSON object")
        call = operation(session, op)
    except (ValueError, KeyError) as e:
        return failure(None, f"bad operation: {describe(e)}")
    try:
        with anyio.fail_after(OP_TIMEOUT):
            return {"ok": dump(await call())}
    except TimeoutError:
        return failure(None, f"timed out after {OP_TIMEOUT:g} s")
    except MCPError as e:
        return failure(None if e.code in SDK_ONLY_CODES else e.code, e.message)
    except Exception as e:  # noqa: BLE001 - any other failure is reported, and the next op runs
        return failure(None, describe(e))


async def connect(stack: AsyncExitStack, url: str | None, headers: dict[str, str], command: list[str]) -> ClientSession:
    if url is not None:
        # The SDK's default client, plus the headers: 30 s to connect and send, 300 s to read a stream.
        http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=300)))
        streams = streamable_http_client(url, http_client=http)
    else:
        # The whole environment: the SDK would pass on only HOME, PATH and the like.
        server = StdioServerParameters(command=command[0], args=command[1:], env=dict(os.environ))
        streams = stdio_client(server)
    read_stream, write_stream = await stack.enter_async_context(streams)
    session = ClientSession(
        read_stream,
        write_stream,
        client_info=types.Implementation(name=CLIENT_NAME, version=CLIENT_VERSION),
    )
    return await stack.enter_async_context(session)


async def main_async(url: str | None, headers: dict[str, str], command: list[str]) -> int:
    initialized = stdin_done = False
    in_flight = False  # an operation line was read and has no answer yet
    try:
        async with AsyncExitStack() as stack:
            session = await connect(stack, url, headers, command)
            # Only around the request: a cancel scope must not hold the contexts entered above.
            with anyio.fail_after(INIT_TIMEOUT):
                init = await session.initialize()
            initialized = True
            emit({"initialized": {"server": init.server_info.name, "protocolVersion": init.protocol_version}})
            while line := await anyio.to_thread.run_sync(sys.stdin.readline):
                if line.strip():
                    in_flight = True
                    emit(await run_op(session, line))
                    in_flight = False
            stdin_done = True
    except Exception as e:  # noqa: BLE001
        if not initialized:
            reason = "timed out" if isinstance(e, TimeoutError) else describe(e)
            print(f"peer_client: cannot connect or initialize: {reason}", file=sys.stderr, flush=True)
            return 1
        if stdin_done:
            # A failure while closing, after the last operation, changes no answer.
            print(f"peer_client: while closing: {describe(e)}", file=sys.stderr, flush=True)
            return 0
        # The transport died under an operation (e.g. the HTTP server went away): that
        # operation and every later one get the same answer, one line each.
        lost = failure(None, f"connection lost: {describe(e)}")
        if in_flight:
            emit(lost)
        for line in sys.stdin:
            if line.strip():
                emit(lost)
    return 0


def describe(e: BaseException) -> str:
    """One line for an error, looking inside the exception groups of task groups."""
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    text = str(e).replace("\n", " ").strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="peer_client: %(levelname)s %(name)s: %(message)s")
    try:
        url, headers, command = parse_args(sys.argv[1:])
    except Usage as e:
        print(f"peer_client: {e}\n{USAGE}", file=sys.stderr)
        return 2
    return anyio.run(main_async, url, headers, command)


if __name__ == "__main__":
    sys.exit(main())
