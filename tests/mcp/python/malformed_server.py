"""A stdio MCP server that answers its first tools/call with malformed JSON-RPC.

Standard library only. It completes the initialize handshake, then answers the first
tools/call with a line that is not JSON and a JSON-RPC response whose id matches but whose
result is not a tool result, and every later tools/call properly (echoing the text).
"""

import json
import sys

calls = 0


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    try:
        message = json.loads(line)
    except ValueError:
        continue
    method, ident = message.get("method"), message.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": ident, "result": {
            "protocolVersion": message["params"]["protocolVersion"],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "malformed-server", "version": "1"},
        }})
    elif method == "tools/call":
        calls += 1
        if calls == 1:
            sys.stdout.write("this is not json\n")
            send({"jsonrpc": "2.0", "id": ident, "result": "not a tool result"})
        else:
            text = message["params"].get("arguments", {}).get("text", "")
            send({"jsonrpc": "2.0", "id": ident,
                  "result": {"content": [{"type": "text", "text": text}]}})
    elif ident is not None:
        send({"jsonrpc": "2.0", "id": ident, "result": {}})
