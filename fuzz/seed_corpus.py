#!/usr/bin/env python3
"""Writes the seed files of fuzz/corpus/<target>/ (docs/fuzzing.md).

Seeds are named `seed-*`; files the fuzzer found are kept beside them under
other names. Run from anywhere: `python3 fuzz/seed_corpus.py`. FlatBuffers
variants need `flatc` (on PATH or in .venv/bin, as scripts/generate
installs it); without it only the golden frames are copied.
"""

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"

# A POLL that parks on the fuzz scene: its watermark is the one a POLL of
# Position answers there (the scene is the same in every app the targets
# make; the digest is stable for a given build of the library).
PARKED = ('{"id":7,"request":"POLL","params":{"data":{"components":["Position"]},'
          '"watermark":"5-1686488a079eead0"%s}}')

EXTRA_REQUESTS = {
    "park-then-wake": [
        PARKED % "",
        '{"id":8,"request":"INSERT","params":{"entity":"1v0","components":{"Position":{"JSON":"{\\"x\\":9}"}}}}',
    ],
    "park-then-cancel": [PARKED % "", '{"id":8,"request":"CANCEL","params":{"id":7}}'],
    "park-then-duplicate-id": [PARKED % "", '{"id":7,"request":"PING"}'],
    "park-with-timeout": [PARKED % ',"timeout_ms":1', '{"id":9,"request":"PING"}'],
    "park-then-destroy": [
        PARKED % "",
        '{"id":8,"request":"DESTROY","params":{"entity":"1v0"}}',
        '{"id":9,"request":"GET","params":{"entity":"3v0","components":["Name"]}}',
    ],
    "reparent-cycle": [
        '{"id":1,"request":"REPARENT","params":{"entity":"1v0","parent":"3v0"}}',
        '{"id":2,"request":"INSERT","params":{"entity":"1v0","components":{"Parent":{"JSON":"\\"3v0\\""}}}}',
        '{"id":3,"request":"REPARENT","params":{"entity":"3v0","parent":null}}',
        '{"id":4,"request":"REPARENT","params":{"entity":"1v0","parent":"3v0"}}',
    ],
    "children-refused": [
        '{"id":1,"request":"INSERT","params":{"entity":"1v0","components":{"Children":{"JSON":"[\\"2v0\\"]"}}}}',
        '{"id":2,"request":"REMOVE","params":{"entity":"1v0","components":["Children"]}}',
    ],
    "auto-declare": [
        '{"id":1,"request":"SPAWN","params":{"components":{"Velocity":{"JSON":"[1,2]"},"Name":{"JSON":"\\"V\\""}}}}',
        '{"id":2,"request":"SPAWN","params":{"components":{"Mass":{"JSON":"1"},"Name":{"JSON":"42"}}}}',
        '{"id":3,"request":"QUERY","params":{"data":{"components":["Velocity"],"has":["Mass"]}}}',
        '{"id":4,"request":"INSERT","params":{"entity":"2v0","components":{"a::b::C":{"JSON":"null"},"id":{"JSON":"1"}}}}',
    ],
    "spellings": [
        '{"\\u0069d":1,"request":"P\\u0049NG"}',
        '{"id":1,"id":2,"request":"PING","request":"GET"}',
        '{"id":18446744073709551615,"request":"PING"}',
        '{"id":18446744073709551616,"request":"PING"}',
        '{"id":1.0,"request":"PING"}',
        '{"id":-0,"request":"PING"}',
        '{"id":1,"request":"GET","params":{"entity":"\\ud800","components":["Name"]}}',
        '{"id":1,"request":"\\ud800"}',
        '{"id":1,"request":"PING","params":null}',
        '{"id":1,"request":"PING","params":"null"}',
    ],
    "entity-ids": [
        '{"id":1,"request":"GET","params":{"entity":"01v0","components":["Name"]}}',
        '{"id":2,"request":"GET","params":{"entity":"4294967295v0","components":["Name"]}}',
        '{"id":3,"request":"GET","params":{"entity":"1v4294967295","components":["Name"]}}',
        '{"id":4,"request":"DESTROY","params":{"entity":"0v0"}}',
        '{"id":5,"request":"GET","params":{"entity":"1v","components":["Name"]}}',
    ],
    "values": [
        '{"id":1,"request":"INSERT","params":{"entity":"2v0","components":{"Transform":{"JSON":"{\\"translation\\":[1e39,-1e39,0]}"}}}}',
        '{"id":2,"request":"GET","params":{"entity":"2v0","components":["Transform","GlobalTransform"]}}',
        '{"id":3,"request":"SPAWN","params":{"components":{"PoseLandmarks":{"JSON":"{\\"timestamp\\":1,\\"landmarks\\":[{\\"x\\":1}]}"}}}}',
        '{"id":4,"request":"SPAWN","params":{"components":{"Position":{"JSON":"' + "[" * 200 + "]" * 200 + '"}}}}',
        '{"id":5,"request":"INSERT","params":{"entity":"1v0","components":{"Position":{"x":1}}}}',
    ],
    "query-shapes": [
        '{"id":1,"request":"QUERY","params":{"data":{"components":["Name"],"has":["Name"]}}}',
        '{"id":2,"request":"QUERY","params":{"data":{"option":{"components":["Position"]}},"filter":{"with":{"components":["Name"]},"without":["Parent"]}}}',
        '{"id":3,"request":"POLL","params":{"data":{"components":["Name"]},"filter":{"changed":["Name","Position"]},"watermark":null}}',
        '{"id":4,"request":"GET","params":{"entity":"1v0","components":["A","B","C","D","E","F","G","H","I"]}}',
        '{"id":5,"request":"QUERY","params":{"data":{"components":["Transform"]},"filter":{"with":["Transform"]}}}',
    ],
    "jsonrpc-watch": [
        '{"jsonrpc":"2.0","id":1,"method":"world.get_components+watch","params":{"entity":4294967294,"components":["bevy_ecs::name::Name","Position"]}}',
        '{"jsonrpc":"2.0","id":2,"method":"world.list_components+watch","params":{"entity":4294967294}}',
        '{"jsonrpc":"2.0","id":3,"method":"world.insert_components","params":{"entity":4294967294,"components":{"Position":{"x":2}}}}',
        '{"jsonrpc":"2.0","id":4,"method":"world.despawn_entity","params":{"entity":4294967294}}',
        '{"id":5,"request":"CANCEL","params":{"id":2}}',
    ],
    "jsonrpc-framing": [
        '{"jsonrpc":"2.0","method":"world.list_components"}',
        '[{"jsonrpc":"2.0","id":1,"method":"rpc.discover"},1]',
        '{"jsonrpc":"2.0","id":2,"method":"world.query","request":"QUERY"}',
        '{"jsonrpc":2,"id":3,"method":"world.query"}',
        '{"jsonrpc":"2.0","id":4,"method":"world.reparent_entities","params":{"entities":[4294967294,4294967293],"parent":4294967293}}',
        '{"jsonrpc":"2.0","id":5,"method":"world.query","params":{"data":{"option":"all","has":["x"]},"strict":false}}',
    ],
    "nesting": ['{"id":1,"request":"PING","params":' + "[" * 300 + "]" * 300 + "}"],
    "over-lenient-limit": ['{"id":1,"request":"PING","params":{"pad":"' + "x" * 2100 + '"}}'],
}

JSON_FRAMES = {
    "empty": '{"Empty": {}}',
    "empty-null": '{"Empty": null}',
    "pose-bare": '{"timestamp": 1.5, "landmarks": [{"x": 0.5, "y": 0.4, "z": 0.0}]}',
    "pose-full": json.dumps({
        "timestamp": 12.5, "sequence": 7, "capture_time_ns": 1700000000000000000,
        "landmarks": [{"x": i / 33, "y": 0.5, "z": -0.25,
                       "availability": {"visibility": 0.9, "presence": 0.75}} for i in range(33)],
    }),
    "people": json.dumps({
        "timestamp": 2.0, "image_width": 1280, "image_height": 720,
        "landmarks": [{"x": 0.2 + i / 330, "y": 0.5, "z": 0.0} for i in range(33)],
        "world_landmarks": [{"x": i / 66, "y": -0.5, "z": 0.1} for i in range(33)],
        "more_people": [
            {"timestamp": 2.0, "landmarks": [{"x": 0.8 - i / 330, "y": 0.5, "z": 0.0} for i in range(33)]},
            {"timestamp": 2.0, "landmarks": [{"x": 0.5, "y": 0.5, "z": 0.0}]},
        ],
    }),
    "empty-with-people": '{"Empty": {}, "more_people": [{"timestamp": 1, "landmarks": []}]}',
    "neither": '{"timestamp": 1, "more_people": []}',
    "pose-extra-keys": ' \n{"timestamp": 1, "landmarks": [], "extra": [1, {"a": null}], "availability": 3}',
    "pose-overflow": '{"timestamp": 1e308, "landmarks": [{"x": 1e39, "y": -1e39, "z": 1e-46}]}',
    "pose-negative-sequence": '{"timestamp": 1, "landmarks": [], "sequence": -1}',
    "pose-string-timestamp": '{"timestamp": "1", "landmarks": []}',
    "truncated": '{"timestamp": 1, "landmarks": [{"x": 1',
    "array": '[{"timestamp": 1, "landmarks": []}]',
    "target-entity": '{"entity": "3v0"}',
    "client-config": json.dumps({
        "url": "ws://127.0.0.1:9000", "headers": {"Authorization": "Bearer k"},
        "target": {"name": "Player"}, "max_message_size": 65536, "reconnect": True,
        "backoff": {"initial_ms": 100, "max_ms": 5000, "jitter": 0.5},
        "connect_timeout_ms": 5000}),
    "client-config-bad": '{"url": "ws://x", "headers": {"' + "\\\"" * 200 + '": 1}}',
}

FLATC_FRAMES = {
    "no-landmarks": {"payload_type": "PoseDetectionResult", "payload": {"timestamp": 3.0}},
    "no-availability": {"payload_type": "PoseDetectionResult",
                        "payload": {"landmarks": [{"x": 1, "y": 2, "z": 3}], "sequence": 1}},
    "stamped-33": {"payload_type": "PoseDetectionResult",
                   "payload": {"timestamp": 9.25, "capture_time_ns": 1, "sequence": 18446744073709551615,
                               "landmarks": [{"x": i, "y": -i, "z": 0.5,
                                              "availability": {"visibility": 1, "presence": 0}}
                                             for i in range(33)]}},
    "empty-landmarks": {"payload_type": "PoseDetectionResult", "payload": {"landmarks": []}},
    "no-payload": {},
}


# The `server` target (fuzz/src/server.rs): the first byte of an input says
# how the rest is sent: its low four bits the chunk size (an index into
# CHUNKS there; 15 is all at once), its high four bits the client's way: 0
# waits for answers and shuts down its write side, 12 (HASTY) does not wait,
# 13 (VANISH) also shuts down its read side, 14 (HOLD) has another
# connection hold most of the request budget meanwhile, 15 (PAUSE) pauses
# longer than the server's timeouts before the last n bytes (n the second
# byte). A seed given as (before, after) pauses between the two.
CHUNK_INDEX = {1: 0, 2: 1, 3: 2, 8: 6, 11: 7, 128: 12, 256: 13, "all": 15}
HASTY, VANISH, HOLD, PAUSE = 0xC0, 0xD0, 0xE0, 0xF0
TOKEN = "fuzz"
WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
# The player of the server's scene: 1v0, 4294967294 in JSON-RPC.
PLAYER_BITS = 4294967294
# A POLL of `Marker`, which no entity of the scene has: with the watermark
# of an empty answer it parks until one gets it (the digest of an empty
# match set; stable for a given build of the library).
SERVER_PARKED = ('{"id":7,"request":"POLL","params":{"data":{"components":["Marker"]},'
                 '"watermark":"1-d1fba762150c532c"%s}}')
SERVER_WATCH = ('{"jsonrpc":"2.0","id":5,"method":"world.get_components+watch","params":{"entity":%d,'
                '"components":["bevy_ecs::name::Name"]}}' % PLAYER_BITS)
PING = '{"id":1,"request":"PING"}'


def http(body="", method="POST", version="HTTP/1.1", host="127.0.0.1", token=TOKEN, headers=(),
         length=True):
    lines = [f"{method} / {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    if length:
        lines.append(f"Content-Length: {len(body.encode())}")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body.encode()


def upgrade(version="HTTP/1.1", ws_version="13", key=WS_KEY, token=TOKEN, method="GET", headers=()):
    lines = [f"{method} / {version}", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {key}"]
    if ws_version is not None:
        lines.append(f"Sec-WebSocket-Version: {ws_version}")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def frame(opcode, payload=b"", fin=True, mask=b"\0\0\0\0", rsv=0):
    """A WebSocket frame as a client sends it (masked unless `mask` is None)."""
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    flag = 0x80 if mask is not None else 0
    n = len(payload)
    if n < 126:
        head += bytes([flag | n])
    elif n < 65536:
        head += bytes([flag | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text(payload, **kw):
    return frame(0x1, payload, **kw)


def close(code=1000, reason=b""):
    return frame(0x8, code.to_bytes(2, "big") + reason)


def chunked(*chunks, trailer="0\r\n\r\n"):
    body = "".join(f"{len(c):x}\r\n{c}\r\n" for c in chunks) + trailer
    return http(body, length=False, headers=["Transfer-Encoding: chunked"])


def server_seeds():
    """name -> (the delivery byte's flags, the bytes sent)."""
    rpc = lambda id, method, params=None: json.dumps(
        {"jsonrpc": "2.0", "id": id, "method": method, **({"params": params} if params else {})},
        separators=(",", ":"))
    get = '{"id":2,"request":"GET","params":{"entity":"1v0","components":["Name","Position"]}}'
    query = '{"id":3,"request":"QUERY","params":{"data":{"components":["Name"]}}}'
    spawn = '{"id":4,"request":"SPAWN","params":{"components":{"Name":{"JSON":"\\"Spawned\\""}}}}'
    ws = upgrade()
    seeds = {
        # HTTP, both dialects, one request each.
        "http-ping": (0, http(PING)),
        "http-get": (0, http(get)),
        "http-query": (0, http(query)),
        "http-spawn": (0, http(spawn)),
        "http-rpc-list": (0, http(rpc(1, "world.list_components"))),
        "http-rpc-get": (0, http(rpc(2, "world.get_components",
                                     {"entity": PLAYER_BITS, "components": ["bevy_ecs::name::Name"]}))),
        "http-rpc-discover": (0, http(rpc(3, "rpc.discover"))),
        "http-parked-poll": (0, http(SERVER_PARKED % "")),
        "http-poll-timeout": (0, (http(SERVER_PARKED % ',"timeout_ms":20'), http(PING))),
        "http-watch-sse": (0, http(SERVER_WATCH)),
        "http-watch-then-ping": (0, http(SERVER_WATCH) + http(PING)),
        "http-watch-waits": (0, (http(SERVER_WATCH), b"x")),
        "http-not-json": (0, http("{not json")),
        "http-not-utf8": (0, http(PING)[:-3] + b"\xff\xfe}"),
        "http-empty-body": (0, http("")),
        "http-pipelined": (0, http(PING) + http(get) + http(rpc(9, "world.list_components")) + http(query)),
        "http-pipelined-spawns": (0, http(spawn) * 4),
        "http-keep-alive-then-idle": (0, (http(PING), http(get))),
        # Methods and versions.
        "http-get-method": (0, http("", method="GET")),
        "http-head": (0, http("", method="HEAD") + http(PING)),
        "http-put": (0, http(PING, method="PUT")),
        "http10-post": (0, http(PING, version="HTTP/1.0", host=None)),
        "http10-keep-alive": (0, http(PING, version="HTTP/1.0", host=None, headers=["Connection: keep-alive"])
                              + http(get, version="HTTP/1.0", host=None)),
        "http10-watch": (0, http(SERVER_WATCH, version="HTTP/1.0", host=None)),
        "http-connection-close": (0, http(PING, headers=["Connection: close"]) + http(get)),
        "http-expect-continue": (0, http(PING, headers=["Expect: 100-continue"])),
        "http2-preface": (0, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        "garbage": (0, b"\x00\x01\x02\xff GET\r\n\r\n"),
        "nothing": (0, b""),
        "nothing-idle": (0, (b"", b"")),
        "hasty-ping": (HASTY, http(PING)),
        "hasty-spawn": (HASTY, http(spawn)),
        "hasty-ws": (HASTY, ws + text(PING) + text(get)),
        "vanish-after-poll": (VANISH, http(SERVER_PARKED % "")),
        "vanish-after-pipelined": (VANISH, http(PING) * 8),
        # Origin and Host.
        "origin-allowed": (0, http(PING, headers=["Origin: https://tool.example"])),
        "origin-evil": (0, http(spawn, headers=["Origin: http://evil.example", "Content-Type: text/plain"])),
        "origin-null": (0, http(PING, headers=["Origin: null"])),
        "origin-other-port": (0, http(PING, headers=["Origin: http://127.0.0.1:1"])),
        "origin-twice": (0, http(PING, headers=["Origin: https://tool.example", "Origin: https://tool.example"])),
        "preflight": (0, http("", method="OPTIONS", token=None, headers=[
            "Origin: https://tool.example", "Access-Control-Request-Method: POST"])),
        "preflight-evil": (0, http("", method="OPTIONS", token=None, headers=["Origin: http://evil.example"])),
        "host-allowed": (0, http(PING, host="box.lan:80")),
        "host-localhost": (0, http(PING, host="a.localhost") + http(PING, host="[::1]:15702")),
        "host-evil": (0, http(spawn, host="evil.example")),
        "host-missing": (0, http(PING, host=None)),
        "host-twice": (0, http(PING, headers=["Host: evil.example"])),
        "host-bad-port": (0, http(PING, host="127.0.0.1:99999")),
        # The token.
        "token-missing": (0, http(spawn, token=None)),
        "token-wrong": (0, http(PING, token="fuzzy")),
        "token-lowercase": (0, http(PING, token=None, headers=["authorization: bearer fuzz"])),
        # Bodies: chunked, lengths, limits, timeouts.
        "chunked": (0, chunked(PING[:10], PING[10:])),
        "chunked-extension": (0, http(length=False, headers=["Transfer-Encoding: chunked"])
                              + f"{len(PING):x};x=y\r\n{PING}\r\n0\r\n\r\n".encode()),
        "chunked-bad-size": (0, http(length=False, headers=["Transfer-Encoding: chunked"]) + b"zz\r\nabc\r\n"),
        "chunked-huge": (0, http(length=False, headers=["Transfer-Encoding: chunked"])
                         + b"7fffffffffffffff\r\nabc"),
        "chunked-and-length": (0, http(PING, headers=["Transfer-Encoding: chunked"])),
        "chunked-trailer": (0, chunked(PING, trailer="0\r\nX-T: 1\r\n\r\n") + http(get)),
        "length-bad": (0, http(PING, length=False, headers=["Content-Length: abc"])),
        "length-negative": (0, http(PING, length=False, headers=["Content-Length: -1"])),
        "length-twice": (0, http(PING, headers=[f"Content-Length: {len(PING) + 1}"])),
        "length-short-body": (0, http(length=False, headers=["Content-Length: 100"]) + PING.encode()),
        "length-over-limit": (0, http(length=False, headers=["Content-Length: 5000"]) + b" " * 100),
        "body-over-limit": (0, http(PING + " " * 4200)),
        "body-held-budget": (HOLD, http(PING + " " * 3000)),
        "header-timeout": (0, (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n\r\n")),
        "body-timeout": (0, (http(PING)[:-5], PING[-5:].encode())),
        "long-header": (0, http(PING, headers=["X-Long: " + "y" * 3000])),
        # WebSocket upgrades.
        "ws-ping": (0, ws + text(PING) + close()),
        "ws-both-dialects": (0, ws + text(get) + text(rpc(2, "world.list_components")) + text(query)),
        "ws-spawn": (0, ws + text(spawn) + text(spawn.replace('"id":4', '"id":5'))),
        "ws-masked": (0, ws + text(PING, mask=b"\x37\xfa\x21\x3d")
                      + frame(0x8, b"\x03\xe8", mask=b"\x01\x02\x03\x04")),
        "ws-parked-poll": (0, ws + text(SERVER_PARKED % "") + text(PING)),
        "ws-poll-timeout": (0, (ws + text(SERVER_PARKED % ',"timeout_ms":20'), text(PING))),
        "ws-cancel": (0, ws + text(SERVER_PARKED % "") + text('{"id":8,"request":"CANCEL","params":{"id":7}}')),
        "ws-duplicate-id": (0, ws + text(SERVER_PARKED % "") + text('{"id":7,"request":"PING"}')),
        "ws-in-flight-limit": (0, ws + b"".join(text((SERVER_PARKED % "").replace('"id":7', f'"id":{i}'))
                                                 for i in range(10, 16))),
        "ws-watches-limit": (0, ws + b"".join(text(SERVER_WATCH.replace('"id":5', f'"id":{i}'))
                                               for i in range(20, 24))),
        "ws-watch-then-close": (0, ws + text(SERVER_WATCH) + close(1001, b"bye")),
        "ws-binary": (0, ws + frame(0x2, PING)),
        "ws-ping-frame": (0, ws + frame(0x9, b"hello") + frame(0xA, b"unsolicited")),
        "ws-ping-flood": (0, ws + frame(0x9, b"p" * 125) * 40),
        "ws-close-reason": (0, ws + close(1000, "done".encode())),
        "ws-close-empty": (0, ws + frame(0x8)),
        "ws-close-one-byte": (0, ws + frame(0x8, b"\x03")),
        "ws-close-1005": (0, ws + close(1005)),
        "ws-close-4000": (0, ws + close(4000, b"app")),
        "ws-close-bad-reason": (0, ws + close(1000, b"\xff")),
        "ws-fragmented": (0, ws + text(PING[:8], fin=False) + frame(0x0, PING[8:16], fin=False)
                          + frame(0x9, b"mid") + frame(0x0, PING[16:])),
        "ws-continuation-alone": (0, ws + frame(0x0, PING)),
        "ws-not-utf8": (0, ws + text(b"\xff\xfe")),
        "ws-reserved-opcode": (0, ws + frame(0x3, b"reserved")),
        "ws-reserved-control": (0, ws + frame(0xB, b"reserved")),
        "ws-rsv-bit": (0, ws + text(PING, rsv=0x40)),
        "ws-unmasked": (0, ws + text(PING, mask=None)),
        "ws-control-fragmented": (0, ws + frame(0x9, b"x", fin=False)),
        "ws-control-long": (0, ws + frame(0x9, b"x" * 126)),
        "ws-long-length": (0, ws + text(PING + " " * 200)),
        "ws-over-limit": (0, ws + bytes([0x81, 0x80 | 126]) + (5000).to_bytes(2, "big") + b"\0\0\0\0" + b" " * 64),
        "ws-held-budget": (HOLD, ws + text(PING + " " * 3000)),
        "ws-message-timeout": (0, (ws + text(PING)[:-4], text(PING)[-4:])),
        "ws-idle": (0, (ws + text(PING), text(get))),
        "ws-many-small": (0, ws + text(PING) * 200),
        "ws-vanish": (VANISH, ws + text(SERVER_PARKED % "") + text(SERVER_WATCH)),
        "ws-pipelined-behind-upgrade": (0, ws + text(PING) + http(PING)),
        # Upgrades that are refused.
        "upgrade-http10": (0, upgrade(version="HTTP/1.0") + text(PING)),
        "upgrade-version-8": (0, upgrade(ws_version="8") + text(PING)),
        "upgrade-no-version": (0, upgrade(ws_version=None)),
        "upgrade-bad-key": (0, upgrade(key="c2hvcnQ=") + text(PING)),
        "upgrade-empty-key": (0, upgrade(key="")),
        "upgrade-post": (0, upgrade(method="POST")),
        "upgrade-no-connection": (0, upgrade().replace(b"Connection: Upgrade\r\n", b"")),
        "upgrade-no-token": (0, upgrade(token=None) + text(PING)),
        "upgrade-evil-origin": (0, upgrade(headers=["Origin: http://evil.example"]) + text(PING)),
        "upgrade-allowed-origin": (0, upgrade(headers=["Origin: https://tool.example"]) + text(PING)),
        "upgrade-with-body": (0, upgrade(headers=["Content-Length: 4"]) + b"abcd" + text(PING)),
    }
    return seeds


# Seeds also sent at other split sizes: chunks of these many bytes.
SPLITS = {
    "http-ping": [1, 8], "http-pipelined": [3, 128], "http-watch-then-ping": [11], "chunked": [1, 2],
    "http10-keep-alive": [8], "ws-ping": [1, 3], "ws-fragmented": [2, 11], "ws-both-dialects": [8, 128],
    "ws-close-reason": [1], "ws-parked-poll": [11], "upgrade-version-8": [3], "http-expect-continue": [2],
    "origin-allowed": [8], "length-short-body": [11], "ws-held-budget": [256], "body-held-budget": [256],
}


def write(target, name, data):
    path = CORPUS / target / f"seed-{name}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def conformance():
    """(file stem, config, [request text]) of each conformance file."""
    for path in sorted((ROOT / "tests" / "conformance").glob("*.json")):
        vectors = json.loads(path.read_text())
        texts = [step.get("request_text") or compact(step["request"]) for step in vectors["steps"]]
        yield path.stem, vectors.get("config") or {}, texts


def flatc():
    for candidate in [shutil.which("flatc"), ROOT / ".venv" / "bin" / "flatc"]:
        if candidate and Path(candidate).exists():
            return str(candidate)
    return None


def flatbuffers_frames():
    frames = {p.stem: p.read_bytes() for p in sorted((ROOT / "tests" / "pose").glob("*.bin"))}
    compiler = flatc()
    if compiler is None:
        return frames
    with tempfile.TemporaryDirectory() as tmp:
        for name, frame in FLATC_FRAMES.items():
            source = Path(tmp) / f"{name}.json"
            source.write_text(json.dumps(frame))
            subprocess.run([compiler, "-b", "-o", tmp, str(ROOT / "schema" / "detection.fbs"), str(source)],
                           check=True)
            frames[name] = (Path(tmp) / f"{name}.bin").read_bytes()
    return frames


def main():
    for target in ["request", "session", "pose_frame", "ffi", "server"]:
        for old in (CORPUS / target).glob("seed-*"):
            old.unlink()

    for stem, config, texts in conformance():
        for start in range(0, len(texts), 4):
            lines = "\n".join(texts[start:start + 4])
            for target in ["request", "session"]:
                write(target, f"{stem}-{start // 4:02}", lines)
        for start in range(0, len(texts), 8):
            script = "\0".join([compact(config)] + texts[start:start + 8])
            write("ffi", f"{stem}-{start // 8:02}", script)
    for name, lines in EXTRA_REQUESTS.items():
        for target in ["request", "session"]:
            write(target, name, "\n".join(lines))

    fb = flatbuffers_frames()
    for name, frame in fb.items():
        write("pose_frame", f"fb-{name}", frame)
        write("pose_frame", f"fb-{name}-truncated", frame[: len(frame) // 2])
    for name, text in JSON_FRAMES.items():
        write("pose_frame", f"json-{name}", text)

    config = compact({"components": ["Position", "Player"]})
    spawn = '{"id":1,"request":"SPAWN","params":{"components":{"Name":{"JSON":"\\"Player\\""}}}}'
    scripts = {
        "register-components": [config, "CVelocity", "Cid", "CName", "C1bad", "Ca::b::C", "CPosition",
                                '{"id":1,"request":"SPAWN","params":{"components":{"Velocity":{"JSON":"1"}}}}'],
        "session-park-cancel": [config, spawn, "U",
                                'S{"id":2,"request":"POLL","params":{"data":{"components":["Name"]},'
                                '"watermark":"1-0000000000000000","timeout_ms":100000}}',
                                'S{"id":3,"request":"PING"}', "X2", "X99",
                                'S{"id":3,"request":"CANCEL","params":{"id":2}}'],
        "bad-config": ['{"components": ["Position"], "bogus": 1}', '{"id":1,"request":"PING"}'],
        "small-limit": ['{"max_request_bytes": 24}', '{"id":1,"request":"PING"}', '{"id":12,"request":"PING"}'],
        "invalid-utf8": [b'{"components": ["\xff"]}', b'{"id":1,"request":"\xc3\x28"}', b"C\xff", b"S\xfe",
                         b"T\xff"],
        "null-config": ["null", '{"id":1,"request":"QUERY","params":{"data":{}}}'],
    }
    for name, pieces in scripts.items():
        pieces = [p.encode() if isinstance(p, str) else p for p in pieces]
        write("ffi", name, b"\0".join(pieces))
    pushes = {
        "player-fb": (None, fb["v1_pose"]),
        "player-stamped": (None, fb["pose"]),
        "player-empty": (None, fb["v1_empty"]),
        "player-json": (None, JSON_FRAMES["pose-bare"].encode()),
        "player-garbage": (None, b"\x00\x01{"),
        "entity-fb": ('{"entity":"1v0"}', fb["v1_pose"]),
        "missing-fb": ('{"entity":"9v0"}', fb["v1_pose"]),
        "hidden-fb": ('{"entity":"0v0"}', fb["v1_pose"]),
        "bad-target-fb": ('{"name": 1}', fb["v1_pose"]),
    }
    for name, (target, frame) in pushes.items():
        pieces = [config.encode(), spawn.encode()]
        if target is not None:
            pieces.append(b"T" + target.encode())
        write("ffi", f"push-{name}", b"\0".join(pieces) + b"\0P" + frame)

    for name, (flags, data) in server_seeds().items():
        if isinstance(data, tuple):
            before, after = data
            flags, data = PAUSE, bytes([len(after)]) + before + after
        write("server", name, bytes([CHUNK_INDEX["all"] | flags]) + data)
        for size in SPLITS.get(name, []):
            write("server", f"{name}-split-{size}", bytes([CHUNK_INDEX[size] | flags]) + data)

if __name__ == "__main__":
    os.chdir(ROOT)
    main()
