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
    for target in ["request", "session", "pose_frame", "ffi"]:
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

if __name__ == "__main__":
    os.chdir(ROOT)
    main()
