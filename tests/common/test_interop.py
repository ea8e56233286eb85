#!/usr/bin/python3
"""Wire protocol v2 interop: Python (msgpack + numpy, written from the protocol tables in
common/protocol.h) against the C++ encoder and decoder, through the hoverslam-wire tool.

usage: test_interop.py PATH/TO/hoverslam-wire

Every message kind: trajectory, weights, and the credit flow's ready and grant.
(a) messages built by hand (shuffled keys, unknown keys, every int width, wide
    str/bin headers) must decode in C++ with every field equal; weights of proto 1
    (policy files written before v2) still decode;
(b) messages encoded in C++ must carry exactly the keys, msgpack types, shapes,
    dtypes and values of the tables;
(c) hand-made bad messages must be rejected with the expected reason.
"""
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile

import msgpack
import numpy as np

TOOL = sys.argv[1] if len(sys.argv) > 1 else None
FAILURES = []
CHECKS = [0]


def check(cond, what):
    CHECKS[0] += 1
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what)
    return cond


# ---------------------------------------------------------------- hand encoding
# A value is either a Python object (packed by msgpack) or Raw(bytes) already packed.
class Raw:
    def __init__(self, data):
        self.data = data


UINT_FORMATS = [("fix", None, None, 1 << 7), ("u8", 0xCC, ">B", 1 << 8), ("u16", 0xCD, ">H", 1 << 16),
                ("u32", 0xCE, ">I", 1 << 32), ("u64", 0xCF, ">Q", 1 << 64)]


def uint(v, width):
    """v packed as a msgpack uint of the chosen width (fix, u8, u16, u32, u64), or
    of the next wider one when v does not fit."""
    names = [f[0] for f in UINT_FORMATS]
    for name, tag, fmt, bound in UINT_FORMATS[names.index(width):]:
        if 0 <= v < bound:
            return Raw(bytes([v]) if tag is None else bytes([tag]) + struct.pack(fmt, v))
    raise ValueError(f"{v} is not a uint64")


def str8(s):
    """A str with a str8 header even when fixstr would do."""
    b = s.encode()
    return Raw(b"\xd9" + struct.pack(">B", len(b)) + b)


def bin32(b):
    """A bin with a bin32 header even when bin8 would do."""
    return Raw(b"\xc6" + struct.pack(">I", len(b)) + b)


def f32(x):
    return Raw(b"\xca" + struct.pack(">f", x))


def pack(value):
    if isinstance(value, Raw):
        return value.data
    if isinstance(value, dict):
        return pack_map(list(value.items()))
    if isinstance(value, list):
        n = len(value)
        head = bytes([0x90 | n]) if n < 16 else b"\xdc" + struct.pack(">H", n)
        return head + b"".join(pack(v) for v in value)
    return msgpack.packb(value, use_bin_type=True)


def pack_map(items):
    n = len(items)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
    return head + b"".join(pack(k) + pack(v) for k, v in items)


def pack_shuffled(fields, rng):
    items = list(fields.items())
    rng.shuffle(items)
    return pack_map(items)


def f4(a):
    return np.asarray(a, dtype="<f4").tobytes()


# ---------------------------------------------------------------- the C++ tool
def run_tool(*args):
    p = subprocess.run([TOOL, *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), p.stderr.decode()


def cxx_decode(kind, data):
    with tempfile.NamedTemporaryFile(suffix=".msgpack", delete=False) as f:
        f.write(data)
        path = f.name
    try:
        rc, out, err = run_tool("decode", kind, path)
    finally:
        os.unlink(path)
    lines = out.strip().split("\n", 1)
    if rc == 0 and lines[0] == "ok":
        return "ok", json.loads(lines[1])
    if rc == 1 and lines[0].startswith("reject "):
        parts = lines[0].split(" ", 2)
        return "reject", (parts[1], parts[2] if len(parts) > 2 else "")
    raise RuntimeError(f"hoverslam-wire decode: rc {rc}, stdout {out!r}, stderr {err!r}")


# ---------------------------------------------------------------- sample messages
def sample_trajectory(rng, t=5, n=3, d=6, a=2):
    """Arrays and scalars of a valid trajectory, as numpy, from the DESIGN.md table."""
    npr = np.random.default_rng(rng.randrange(1 << 30))
    terminated = np.zeros(t * n, np.uint8)
    truncated = np.zeros(t * n, np.uint8)
    ends = rng.sample(range(t * n), 4)
    terminated[ends[:2]] = 1
    truncated[ends[2:]] = 1
    terminated = terminated.reshape(t, n)
    truncated = truncated.reshape(t, n)
    final_idx = np.flatnonzero(truncated.reshape(-1)).astype("<u4")
    return {
        "run": "run-7", "env": "rocket", "actor": "actor-3", "policy_version": 123456,
        "num_steps": t, "num_envs": n, "obs_dim": d, "act_dim": a,
        "obs": npr.normal(0, 20, (t + 1, n, d)).astype("<f4"),
        "actions": npr.normal(0, 1, (t, n, a)).astype("<f4"),
        "logp": npr.uniform(-6, 0, (t, n)).astype("<f4"),
        "rewards": npr.normal(0, 5, (t, n)).astype("<f4"),
        "terminated": terminated, "truncated": truncated,
        "final_idx": final_idx,
        "final_obs": npr.normal(0, 20, (len(final_idx), d)).astype("<f4"),
        "episodes": [
            {"return": np.float32(-37.25), "length": 212, "outcome": "crashed"},
            {"return": np.float32(181.5), "length": 600, "outcome": "timeout"},
            {"return": np.float32(240.125), "length": 389, "outcome": "landed"},
        ],
    }


def trajectory_fields(s, widths):
    """The wire map of a trajectory sample; `widths` picks each int's encoding."""
    def episode(e, i):
        return {"outcome": e["outcome"], "junk": [i, None], "length": uint(e["length"], widths[i % len(widths)]),
                "return": f32(float(e["return"]))}
    return {
        "proto": uint(2, widths[0]),
        "type": "trajectory",
        "run": str8(s["run"]),
        "env": s["env"],
        "actor": s["actor"],
        "policy_version": uint(s["policy_version"], "u64"),
        "num_steps": uint(s["num_steps"], widths[1 % len(widths)]),
        "num_envs": uint(s["num_envs"], widths[2 % len(widths)]),
        "obs_dim": uint(s["obs_dim"], widths[3 % len(widths)]),
        "act_dim": uint(s["act_dim"], widths[4 % len(widths)]),
        "obs": f4(s["obs"]),
        "actions": bin32(f4(s["actions"])),
        "logp": f4(s["logp"]),
        "rewards": f4(s["rewards"]),
        "terminated": s["terminated"].astype("u1").tobytes(),
        "truncated": bin32(s["truncated"].astype("u1").tobytes()),
        "final_idx": np.asarray(s["final_idx"], "<u4").tobytes(),
        "final_obs": f4(s["final_obs"]),
        "episodes": [episode(e, i) for i, e in enumerate(s["episodes"])],
        # Unknown keys, flat and nested, must be ignored.
        "x_note": "from the future",
        "x_nested": {"deep": [1, {"deeper": b"\x00\x01", "f": 1.5}], "n": -3},
    }


def sample_weights(rng, d=6, hidden=(5, 4), a=2):
    npr = np.random.default_rng(rng.randrange(1 << 30))
    sizes = [d, *hidden, a]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append({"in": sizes[i], "out": sizes[i + 1],
                       "w": npr.normal(0, 0.5, (sizes[i + 1], sizes[i])).astype("<f4"),
                       "b": npr.normal(0, 0.1, (sizes[i + 1],)).astype("<f4")})
    return {
        "run": "run-7", "env": "rocket", "policy_version": 99, "obs_dim": d, "act_dim": a,
        "activation": "elu", "layers": layers,
        "log_std": np.array([-0.5, -1.25][:a], "<f4"),
        "obs_mean": npr.normal(0, 10, d).astype("<f4"),
        "obs_var": npr.uniform(0.01, 50, d).astype("<f4"),
        "obs_clip": np.float32(5.0),
    }


def weights_fields(s, widths, proto=2):
    def layer(l, i):
        return {"w": bin32(f4(l["w"])), "out": uint(l["out"], widths[i % len(widths)]),
                "b": f4(l["b"]), "in": uint(l["in"], widths[(i + 1) % len(widths)]),
                "x_init": "orthogonal"}
    return {
        "proto": uint(proto, widths[-1]),
        "type": str8("weights"),
        "run": s["run"],
        "env": str8(s["env"]),
        "policy_version": uint(s["policy_version"], widths[0]),
        "obs_dim": uint(s["obs_dim"], widths[1 % len(widths)]),
        "act_dim": uint(s["act_dim"], widths[2 % len(widths)]),
        "activation": s["activation"],
        "layers": [layer(l, i) for i, l in enumerate(s["layers"])],
        "log_std": f4(s["log_std"]),
        "obs_mean": bin32(f4(s["obs_mean"])),
        "obs_var": f4(s["obs_var"]),
        "obs_clip": f32(float(s["obs_clip"])),
        "x_nested": {"a": {"b": [True, False, None]}},
    }


def sample_ready(rng):
    """A ready: the actor's name, the weights it holds and the size of its rollouts."""
    return {"run": "run-7", "env": "rocket", "actor": f"actor-{rng.randrange(100)}",
            "policy_version": rng.randrange(1 << 40), "transitions": rng.randrange(1, 1 << 20)}


def ready_fields(s, widths):
    return {
        "proto": uint(2, widths[0]),
        "type": str8("ready"),
        "run": s["run"],
        "env": str8(s["env"]),
        "actor": s["actor"],
        "policy_version": uint(s["policy_version"], widths[1 % len(widths)]),
        "transitions": uint(s["transitions"], widths[2 % len(widths)]),
        "x_hint": {"more": [1, 2]},
    }


def sample_grant(rng):
    """A grant: collect with this run's weights at policy_version or newer."""
    return {"run": "run-7", "env": "rocket", "policy_version": rng.randrange(1 << 63)}


def grant_fields(s, widths):
    return {
        "proto": uint(2, widths[-1]),
        "type": "grant",
        "run": str8(s["run"]),
        "env": s["env"],
        "policy_version": uint(s["policy_version"], widths[0]),
        "x_note": None,
    }


# ---------------------------------------------------------------- comparisons
def compare_plain(got, s, kind, what):
    """A message of scalars only (ready, grant): type and every field equal."""
    check(got.get("type") == kind, f"{what}: decoded as {got.get('type')}")
    for key in s:
        if key not in ("proto", "type"):
            check(got.get(key) == s[key], f"{what}: {key} {got.get(key)!r} != {s[key]!r}")


def same_f32(json_list, array, what):
    got = np.asarray(json_list, dtype=np.float64).astype("<f4")
    want = np.asarray(array, dtype="<f4").reshape(-1)
    return check(got.shape == want.shape and got.tobytes() == want.tobytes(), f"{what}: float32 bits differ")


def same_ints(json_list, array, what):
    return check(list(json_list) == [int(x) for x in np.asarray(array).reshape(-1)], f"{what}: values differ")


def compare_trajectory(got, s, what):
    for key in ("run", "env", "actor", "policy_version", "num_steps", "num_envs", "obs_dim", "act_dim"):
        check(got.get(key) == s[key], f"{what}: {key} {got.get(key)!r} != {s[key]!r}")
    for key in ("obs", "actions", "logp", "rewards", "final_obs"):
        same_f32(got[key], s[key], f"{what}: {key}")
    for key in ("terminated", "truncated", "final_idx"):
        same_ints(got[key], s[key], f"{what}: {key}")
    check(len(got["episodes"]) == len(s["episodes"]), f"{what}: episode count")
    for g, e in zip(got["episodes"], s["episodes"]):
        check(np.float32(g["return"]) == np.float32(e["return"]), f"{what}: episode return")
        check(g["length"] == e["length"] and g["outcome"] == e["outcome"], f"{what}: episode {g}")


def compare_weights(got, s, what):
    for key in ("run", "env", "policy_version", "obs_dim", "act_dim", "activation"):
        check(got.get(key) == s[key], f"{what}: {key} {got.get(key)!r} != {s[key]!r}")
    check(len(got["layers"]) == len(s["layers"]), f"{what}: layer count")
    for i, (g, l) in enumerate(zip(got["layers"], s["layers"])):
        check(g["in"] == l["in"] and g["out"] == l["out"], f"{what}: layer {i} shape")
        same_f32(g["w"], l["w"], f"{what}: layers[{i}].w")
        same_f32(g["b"], l["b"], f"{what}: layers[{i}].b")
    for key in ("log_std", "obs_mean", "obs_var"):
        same_f32(got[key], s[key], f"{what}: {key}")
    check(np.float32(got["obs_clip"]) == np.float32(s["obs_clip"]), f"{what}: obs_clip")


# ---------------------------------------------------------------- (a) Python -> C++
WIDTHS = [["fix"], ["u8"], ["u16"], ["u32"], ["u64"], ["fix", "u64", "u8", "u32", "u16"]]


def test_python_to_cxx(rng):
    for widths in WIDTHS:
        s = sample_trajectory(rng)
        status, got = cxx_decode("trajectory", pack_shuffled(trajectory_fields(s, widths), rng))
        if check(status == "ok", f"trajectory ints {widths}: {got}"):
            compare_trajectory(got, s, f"trajectory ints {widths}")
        for proto in (1, 2):  # v1 policy files still load
            w = sample_weights(rng)
            status, got = cxx_decode("weights", pack_shuffled(weights_fields(w, widths, proto), rng))
            if check(status == "ok", f"weights proto {proto} ints {widths}: {got}"):
                compare_weights(got, w, f"weights proto {proto} ints {widths}")
        r = sample_ready(rng)
        status, got = cxx_decode("ready", pack_shuffled(ready_fields(r, widths), rng))
        if check(status == "ok", f"ready ints {widths}: {got}"):
            compare_plain(got, r, "ready", f"ready ints {widths}")
        g = sample_grant(rng)
        status, got = cxx_decode("grant", pack_shuffled(grant_fields(g, widths), rng))
        if check(status == "ok", f"grant ints {widths}: {got}"):
            compare_plain(got, g, "grant", f"grant ints {widths}")

    # The learner's channel decoder takes a trajectory as well as a ready.
    s = sample_trajectory(rng)
    status, got = cxx_decode("ready", pack_shuffled(trajectory_fields(s, ["u8"]), rng))
    if check(status == "ok" and got.get("type") == "trajectory", f"trajectory on the actor channel: {got}"):
        compare_trajectory(got, s, "trajectory on the actor channel")

    # No truncation (empty final_idx/final_obs bins), no episodes, one env, bigger shapes.
    s = sample_trajectory(rng, t=64, n=1, d=6, a=2)
    s["truncated"][:] = 0
    s["final_idx"] = np.zeros(0, "<u4")
    s["final_obs"] = np.zeros((0, 6), "<f4")
    s["episodes"] = []
    status, got = cxx_decode("trajectory", pack_shuffled(trajectory_fields(s, ["fix"]), rng))
    if check(status == "ok", f"trajectory without truncation: {got}"):
        compare_trajectory(got, s, "trajectory without truncation")

    # Plain msgpack.packb of a dict (smallest widths everywhere), as a Python actor would write it.
    s = sample_trajectory(rng)
    plain = {"proto": 2, "type": "trajectory", "run": s["run"], "env": s["env"], "actor": s["actor"],
             "policy_version": s["policy_version"], "num_steps": s["num_steps"], "num_envs": s["num_envs"],
             "obs_dim": s["obs_dim"], "act_dim": s["act_dim"], "obs": f4(s["obs"]),
             "actions": f4(s["actions"]), "logp": f4(s["logp"]), "rewards": f4(s["rewards"]),
             "terminated": s["terminated"].tobytes(), "truncated": s["truncated"].tobytes(),
             "final_idx": s["final_idx"].tobytes(), "final_obs": f4(s["final_obs"]),
             "episodes": [{"return": float(e["return"]), "length": e["length"], "outcome": e["outcome"]}
                          for e in s["episodes"]]}
    status, got = cxx_decode("trajectory", msgpack.packb(plain, use_bin_type=True, use_single_float=True))
    if check(status == "ok", f"plain packb trajectory: {got}"):
        compare_trajectory(got, s, "plain packb trajectory")
    for kind, fields in (("ready", {"proto": 2, "type": "ready", "run": "r", "env": "rocket", "actor": "a",
                                    "policy_version": 7, "transitions": 1024}),
                         ("grant", {"proto": 2, "type": "grant", "run": "r", "env": "rocket",
                                    "policy_version": 8})):
        status, got = cxx_decode(kind, msgpack.packb(fields))
        if check(status == "ok", f"plain packb {kind}: {got}"):
            compare_plain(got, fields, kind, f"plain packb {kind}")


# ---------------------------------------------------------------- (b) C++ -> Python
def parse_typed(data):
    """Minimal msgpack reader that keeps each value's format: returns (tree, end).

    A node is (fmt, value): fmt is 'uint', 'int', 'f32', 'f64', 'str', 'bin', 'array',
    'map', 'nil' or 'bool'; a map's value is a list of (key_node, value_node).
    """
    def read(i):
        b = data[i]
        if b <= 0x7F:
            return ("uint", b), i + 1
        if b >= 0xE0:
            return ("int", b - 0x100), i + 1
        if 0x80 <= b <= 0x8F:
            return read_map(b & 0x0F, i + 1)
        if 0x90 <= b <= 0x9F:
            return read_array(b & 0x0F, i + 1)
        if 0xA0 <= b <= 0xBF:
            n = b & 0x1F
            return ("str", data[i + 1:i + 1 + n].decode()), i + 1 + n
        fixed = {0xCC: ("uint", ">B"), 0xCD: ("uint", ">H"), 0xCE: ("uint", ">I"), 0xCF: ("uint", ">Q"),
                 0xD0: ("int", ">b"), 0xD1: ("int", ">h"), 0xD2: ("int", ">i"), 0xD3: ("int", ">q"),
                 0xCA: ("f32", ">f"), 0xCB: ("f64", ">d")}
        if b in fixed:
            fmt, code = fixed[b]
            size = struct.calcsize(code)
            return (fmt, struct.unpack(code, data[i + 1:i + 1 + size])[0]), i + 1 + size
        lengths = {0xD9: ("str", ">B"), 0xDA: ("str", ">H"), 0xDB: ("str", ">I"),
                   0xC4: ("bin", ">B"), 0xC5: ("bin", ">H"), 0xC6: ("bin", ">I")}
        if b in lengths:
            fmt, code = lengths[b]
            size = struct.calcsize(code)
            n = struct.unpack(code, data[i + 1:i + 1 + size])[0]
            body = data[i + 1 + size:i + 1 + size + n]
            assert len(body) == n, "truncated"
            return (fmt, body.decode() if fmt == "str" else bytes(body)), i + 1 + size + n
        if b in (0xDC, 0xDD, 0xDE, 0xDF):
            code = ">H" if b in (0xDC, 0xDE) else ">I"
            size = struct.calcsize(code)
            n = struct.unpack(code, data[i + 1:i + 1 + size])[0]
            return (read_array if b in (0xDC, 0xDD) else read_map)(n, i + 1 + size)
        if b == 0xC0:
            return ("nil", None), i + 1
        if b in (0xC2, 0xC3):
            return ("bool", b == 0xC3), i + 1
        raise ValueError(f"unexpected msgpack byte 0x{b:02x} at {i}")

    def read_array(n, i):
        out = []
        for _ in range(n):
            v, i = read(i)
            out.append(v)
        return ("array", out), i

    def read_map(n, i):
        out = []
        for _ in range(n):
            k, i = read(i)
            v, i = read(i)
            out.append((k, v))
        return ("map", out), i

    return read(0)


def typed_map(node, what):
    """A typed map node as {key: node}, checking string keys and no duplicates."""
    check(node[0] == "map", f"{what} is a {node[0]}, not a map")
    out = {}
    for k, v in node[1]:
        check(k[0] == "str", f"{what}: non-string key {k}")
        check(k[1] not in out, f"{what}: duplicate key {k[1]}")
        out[k[1]] = v
    return out


TRAJECTORY_SCHEMA = {
    "proto": "uint", "type": "str", "run": "str", "env": "str", "actor": "str", "policy_version": "uint",
    "num_steps": "uint", "num_envs": "uint", "obs_dim": "uint", "act_dim": "uint",
    "obs": "bin", "actions": "bin", "logp": "bin", "rewards": "bin", "terminated": "bin",
    "truncated": "bin", "final_idx": "bin", "final_obs": "bin", "episodes": "array",
}
EPISODE_SCHEMA = {"return": "f32", "length": "uint", "outcome": "str"}
WEIGHTS_SCHEMA = {
    "proto": "uint", "type": "str", "run": "str", "env": "str", "policy_version": "uint",
    "obs_dim": "uint", "act_dim": "uint", "activation": "str", "layers": "array",
    "log_std": "bin", "obs_mean": "bin", "obs_var": "bin", "obs_clip": "f32",
}
LAYER_SCHEMA = {"in": "uint", "out": "uint", "w": "bin", "b": "bin"}
READY_SCHEMA = {
    "proto": "uint", "type": "str", "run": "str", "env": "str", "actor": "str", "policy_version": "uint",
    "transitions": "uint",
}
GRANT_SCHEMA = {"proto": "uint", "type": "str", "run": "str", "env": "str", "policy_version": "uint"}


def check_schema(fields, schema, what):
    check(set(fields) == set(schema), f"{what}: keys {sorted(fields)} != {sorted(schema)}")
    for key, fmt in schema.items():
        if key in fields:
            check(fields[key][0] == fmt, f"{what}: {key} is {fields[key][0]}, table says {fmt}")


def check_bin(fields, key, dtype, count, json_values, what):
    raw = fields[key][1]
    check(len(raw) == count * np.dtype(dtype).itemsize,
          f"{what}: {key} has {len(raw)} bytes, shape says {count * np.dtype(dtype).itemsize}")
    values = np.frombuffer(raw, dtype=dtype)
    if np.dtype(dtype).kind == "f":
        same_f32(json_values, values, f"{what}: {key}")
    else:
        same_ints(json_values, values, f"{what}: {key}")
    return values


def encode_with_tool(kind, seed):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "msg.msgpack")
        rc, out, err = run_tool("encode", kind, str(seed), path)
        if rc != 0:
            raise RuntimeError(f"hoverslam-wire encode: rc {rc}, {err}")
        with open(path, "rb") as f:
            return f.read(), json.loads(out)


def test_cxx_to_python():
    widths_seen = set()
    for seed in range(1, 13):
        what = f"C++ trajectory seed {seed}"
        data, js = encode_with_tool("trajectory", seed)
        tree, end = parse_typed(data)
        check(end == len(data), f"{what}: trailing bytes")
        plain = msgpack.unpackb(data, raw=False)
        f = typed_map(tree, what)
        check_schema(f, TRAJECTORY_SCHEMA, what)
        check(plain["proto"] == 2 and plain["type"] == "trajectory" and plain["env"] == "rocket",
              f"{what}: common keys {plain['proto']} {plain['type']} {plain['env']}")
        fmt = data[data.index(b"policy_version") + len(b"policy_version")]
        widths_seen.add("fixint" if fmt < 0x80 else hex(fmt))
        for key in ("run", "env", "actor", "policy_version", "num_steps", "num_envs", "obs_dim", "act_dim"):
            check(plain[key] == js[key], f"{what}: {key} {plain[key]!r} != JSON {js[key]!r}")
        t, n, d, a = (plain[k] for k in ("num_steps", "num_envs", "obs_dim", "act_dim"))
        check_bin(f, "obs", "<f4", (t + 1) * n * d, js["obs"], what)
        check_bin(f, "actions", "<f4", t * n * a, js["actions"], what)
        check_bin(f, "logp", "<f4", t * n, js["logp"], what)
        check_bin(f, "rewards", "<f4", t * n, js["rewards"], what)
        term = check_bin(f, "terminated", "u1", t * n, js["terminated"], what)
        trunc = check_bin(f, "truncated", "u1", t * n, js["truncated"], what)
        k = len(js["final_idx"])
        idx = check_bin(f, "final_idx", "<u4", k, js["final_idx"], what)
        check_bin(f, "final_obs", "<f4", k * d, js["final_obs"], what)
        check(set(term.tolist()) <= {0, 1} and set(trunc.tolist()) <= {0, 1}, f"{what}: flags not 0/1")
        check(term.sum() >= 1 and trunc.sum() >= 1, f"{what}: needs a terminated and a truncated step")
        check(idx.tolist() == np.flatnonzero(trunc).tolist(), f"{what}: final_idx != truncated steps")
        episodes = f["episodes"][1]
        check(len(episodes) >= 2 and len(episodes) == len(js["episodes"]), f"{what}: episode count")
        for e, je in zip(episodes, js["episodes"]):
            ef = typed_map(e, f"{what}: episode")
            check_schema(ef, EPISODE_SCHEMA, f"{what}: episode")
            check(np.float32(ef["return"][1]) == np.float32(je["return"]), f"{what}: episode return")
            check(ef["length"][1] == je["length"], f"{what}: episode length")
            check(ef["outcome"][1] == je["outcome"] and je["outcome"] in
                  ("landed", "crashed", "out_of_bounds", "timeout"), f"{what}: outcome {ef['outcome'][1]}")
        # The C++ decoder reads back exactly what the C++ encoder wrote.
        status, back = cxx_decode("trajectory", data)
        check(status == "ok" and back == js, f"{what}: C++ round trip differs: {back if status != 'ok' else ''}")

        what = f"C++ weights seed {seed}"
        data, js = encode_with_tool("weights", seed)
        tree, end = parse_typed(data)
        check(end == len(data), f"{what}: trailing bytes")
        plain = msgpack.unpackb(data, raw=False)
        f = typed_map(tree, what)
        check_schema(f, WEIGHTS_SCHEMA, what)
        check(plain["proto"] == 2 and plain["type"] == "weights" and plain["env"] == "rocket",
              f"{what}: common keys")
        for key in ("run", "env", "policy_version", "obs_dim", "act_dim", "activation"):
            check(plain[key] == js[key], f"{what}: {key} {plain[key]!r} != JSON {js[key]!r}")
        check(plain["activation"] in ("tanh", "elu", "relu"), f"{what}: activation {plain['activation']}")
        d, a = plain["obs_dim"], plain["act_dim"]
        layers = f["layers"][1]
        check(len(layers) >= 1 and len(layers) == len(js["layers"]), f"{what}: layer count")
        expect_in = d
        for i, (l, jl) in enumerate(zip(layers, js["layers"])):
            lf = typed_map(l, f"{what}: layer {i}")
            check_schema(lf, LAYER_SCHEMA, f"{what}: layer {i}")
            lin, lout = lf["in"][1], lf["out"][1]
            check(lin == expect_in and lin == jl["in"] and lout == jl["out"], f"{what}: layer {i} shape")
            if i == len(layers) - 1:
                check(lout == a, f"{what}: last layer out {lout} != act_dim {a}")
            check_bin(lf, "w", "<f4", lout * lin, jl["w"], f"{what}: layer {i}")
            check_bin(lf, "b", "<f4", lout, jl["b"], f"{what}: layer {i}")
            expect_in = lout
        check_bin(f, "log_std", "<f4", a, js["log_std"], what)
        check_bin(f, "obs_mean", "<f4", d, js["obs_mean"], what)
        var = check_bin(f, "obs_var", "<f4", d, js["obs_var"], what)
        check((var >= 0).all(), f"{what}: negative obs_var")
        check(np.float32(f["obs_clip"][1]) == np.float32(js["obs_clip"]) and f["obs_clip"][1] > 0,
              f"{what}: obs_clip")
        status, back = cxx_decode("weights", data)
        check(status == "ok" and back == js, f"{what}: C++ round trip differs")
    # Seeds spread policy_version over several msgpack uint widths.
    check(len(widths_seen) >= 3, f"policy_version used only formats {sorted(widths_seen)}")
    test_credit_cxx_to_python()


def test_credit_cxx_to_python():
    """The credit flow's messages as C++ writes them: exactly the table's keys and types."""
    widths_seen = set()
    for seed in range(1, 13):
        for kind, schema in (("ready", READY_SCHEMA), ("grant", GRANT_SCHEMA)):
            what = f"C++ {kind} seed {seed}"
            data, js = encode_with_tool(kind, seed)
            tree, end = parse_typed(data)
            check(end == len(data), f"{what}: trailing bytes")
            f = typed_map(tree, what)
            check_schema(f, schema, what)
            plain = msgpack.unpackb(data, raw=False)
            check(plain["proto"] == 2 and plain["type"] == kind and plain["env"] == "rocket",
                  f"{what}: common keys {plain['proto']} {plain['type']} {plain['env']}")
            for key in schema:
                if key != "proto":
                    check(plain[key] == js[key], f"{what}: {key} {plain[key]!r} != JSON {js[key]!r}")
            if kind == "ready":
                check(1 <= plain["transitions"] <= 1 << 20, f"{what}: transitions {plain['transitions']}")
                fmt = data[data.index(b"transitions") + len(b"transitions")]
                widths_seen.add("fixint" if fmt < 0x80 else hex(fmt))
            status, back = cxx_decode(kind, data)
            check(status == "ok" and back == js, f"{what}: C++ round trip differs: {back}")
    check(len(widths_seen) >= 3, f"ready transitions used only formats {sorted(widths_seen)}")


# ---------------------------------------------------------------- (c) rejections
def bad_trajectories(rng):
    def base():
        return sample_trajectory(rng), ["fix"]

    def build(mutate):
        s, widths = base()
        fields = trajectory_fields(s, widths)
        mutate(s, fields)
        return pack_shuffled(fields, rng)

    def nan_reward(s, f):
        r = s["rewards"].copy()
        r[2, 1] = np.nan
        f["rewards"] = f4(r)

    def inf_obs(s, f):
        o = s["obs"].copy()
        o[-1, -1, -1] = np.inf
        f["obs"] = f4(o)

    def flag_two(s, f):
        t = s["terminated"].copy()
        t[0, 0] = 2
        f["terminated"] = t.tobytes()

    def final_idx_wrong(s, f):
        idx = s["final_idx"].copy()
        idx[0] += 1  # now names a step that is not truncated
        f["final_idx"] = idx.astype("<u4").tobytes()

    def set_(key, value):
        def m(s, f):
            f[key] = value
        return m

    def del_(key):
        def m(s, f):
            del f[key]
        return m

    def episode_outcome(s, f):
        f["episodes"][0]["outcome"] = "exploded"

    def episode_nan(s, f):
        f["episodes"][1]["return"] = f32(math.nan)

    cases = [
        ("proto 1 (an actor without credit flow)", build(set_("proto", 1)), "wrong_proto"),
        ("proto 3", build(set_("proto", 3)), "wrong_proto"),
        ("proto as a string", build(set_("proto", "2")), "bad_type"),
        ("type ready", build(set_("type", "ready")), "wrong_type"),
        ("type weights", build(set_("type", "weights")), "wrong_type"),
        ("env mars", build(set_("env", "mars")), "wrong_env"),
        ("no actions", build(del_("actions")), "missing_key"),
        ("obs one float short", build(lambda s, f: f.__setitem__("obs", f4(s["obs"])[:-4])), "shape_mismatch"),
        ("actions one byte long", build(lambda s, f: f.__setitem__("actions", f4(s["actions"]) + b"\0")),
         "shape_mismatch"),
        ("obs as a list", build(lambda s, f: f.__setitem__("obs", s["obs"].reshape(-1).tolist())), "bad_type"),
        ("num_steps 0", build(set_("num_steps", 0)), "shape_mismatch"),
        ("num_envs negative", build(set_("num_envs", -3)), "bad_type"),
        ("num_steps over the limit", build(set_("num_steps", uint(5000, "u16"))), "too_large"),
        ("num_envs 2^40", build(set_("num_envs", uint(1 << 40, "u64"))), "too_large"),
        ("NaN reward", build(nan_reward), "non_finite"),
        ("inf bootstrap obs", build(inf_obs), "non_finite"),
        ("terminated 2", build(flag_two), "invalid_value"),
        ("final_idx off by one", build(final_idx_wrong), "invalid_value"),
        ("unknown outcome", build(episode_outcome), "invalid_value"),
        ("NaN episode return", build(episode_nan), "non_finite"),
    ]
    good = build(lambda s, f: None)
    cases += [
        ("trailing byte", good + b"\xc0", "malformed"),
        ("truncated message", good[:-10], "malformed"),
        ("not a map", msgpack.packb([1, 2, 3]), "malformed"),
        ("empty input", b"", "malformed"),
        ("duplicate key", pack_map([("proto", 2), ("proto", 2)]), "malformed"),
    ]
    return cases


def bad_weights(rng):
    def build(mutate):
        s = sample_weights(rng)
        fields = weights_fields(s, ["fix"])
        mutate(s, fields)
        return pack_shuffled(fields, rng)

    def layer_shape(s, f):
        f["layers"][1]["in"] = uint(s["layers"][1]["in"] + 1, "fix")

    def negative_var(s, f):
        v = s["obs_var"].copy()
        v[0] = -1.0
        f["obs_var"] = f4(v)

    def nan_weight(s, f):
        w = s["layers"][0]["w"].copy()
        w[0, 0] = np.nan
        f["layers"][0]["w"] = f4(w)

    def set_(key, value):
        def m(s, f):
            f[key] = value
        return m

    return [
        ("weights proto 3", build(set_("proto", 3)), "wrong_proto"),
        ("weights proto 0", build(set_("proto", 0)), "wrong_proto"),
        ("weights typed trajectory", build(set_("type", "trajectory")), "wrong_type"),
        ("activation sigmoid", build(set_("activation", "sigmoid")), "invalid_value"),
        ("layer in != previous out", build(layer_shape), "shape_mismatch"),
        ("no layers", build(set_("layers", [])), "shape_mismatch"),
        ("log_std one float short", build(lambda s, f: f.__setitem__("log_std", f4(s["log_std"])[:-4])),
         "shape_mismatch"),
        ("negative obs_var", build(negative_var), "invalid_value"),
        ("NaN weight", build(nan_weight), "non_finite"),
        ("obs_clip infinite", build(set_("obs_clip", f32(math.inf))), "non_finite"),
        ("obs_clip 0", build(set_("obs_clip", f32(0.0))), "invalid_value"),
        ("obs_clip a string", build(set_("obs_clip", "5")), "bad_type"),
    ]


def bad_credit_messages(rng):
    """(kind, name, bytes, reason): "ready" is the learner's channel decoder, "grant" the actor's."""
    def build(sample, fields, mutate):
        f = fields(sample(rng), ["fix"])
        mutate(f)
        return pack_shuffled(f, rng)

    def set_(key, value):
        return lambda f: f.__setitem__(key, value)

    def del_(key):
        return lambda f: f.pop(key)

    def ready(mutate):
        return build(sample_ready, ready_fields, mutate)

    def grant(mutate):
        return build(sample_grant, grant_fields, mutate)

    old_trajectory = trajectory_fields(sample_trajectory(rng), ["fix"])
    old_trajectory["proto"] = 1
    return [
        ("ready", "ready transitions 0", ready(set_("transitions", 0)), "invalid_value"),
        ("ready", "ready transitions 2^20 + 1", ready(set_("transitions", uint((1 << 20) + 1, "u32"))),
         "too_large"),
        ("ready", "ready transitions negative", ready(set_("transitions", -1)), "bad_type"),
        ("ready", "ready transitions as a string", ready(set_("transitions", "64")), "bad_type"),
        ("ready", "ready missing actor", ready(del_("actor")), "missing_key"),
        ("ready", "ready missing policy_version", ready(del_("policy_version")), "missing_key"),
        ("ready", "ready proto 1", ready(set_("proto", 1)), "wrong_proto"),
        ("ready", "ready env mars", ready(set_("env", "mars")), "wrong_env"),
        ("ready", "weights on the actor channel", pack_shuffled(weights_fields(sample_weights(rng), ["fix"]), rng),
         "wrong_type"),
        ("ready", "grant on the actor channel", grant(lambda f: None), "wrong_type"),
        ("ready", "proto 1 trajectory on the actor channel", pack_shuffled(old_trajectory, rng), "wrong_proto"),
        ("grant", "grant missing policy_version", grant(del_("policy_version")), "missing_key"),
        ("grant", "grant policy_version negative", grant(set_("policy_version", -5)), "bad_type"),
        ("grant", "grant proto 1", grant(set_("proto", 1)), "wrong_proto"),
        ("grant", "ready to an actor", ready(lambda f: None), "wrong_type"),
        ("grant", "grant not a map", msgpack.packb(["grant", 3]), "malformed"),
    ]


def test_rejections(rng):
    for kind, name, data, reason in bad_credit_messages(rng):
        status, got = cxx_decode(kind, data)
        if check(status == "reject", f"{kind} '{name}' was accepted"):
            check(got[0] == reason, f"{kind} '{name}': rejected as {got[0]} ({got[1]}), expected {reason}")
    for kind, cases in (("trajectory", bad_trajectories(rng)), ("weights", bad_weights(rng))):
        for name, data, reason in cases:
            status, got = cxx_decode(kind, data)
            if check(status == "reject", f"{kind} '{name}' was accepted"):
                check(got[0] == reason, f"{kind} '{name}': rejected as {got[0]} ({got[1]}), expected {reason}")


def main():
    if TOOL is None or not os.access(TOOL, os.X_OK):
        print(__doc__)
        return 2
    rng = random.Random(20240601)
    test_python_to_cxx(rng)
    test_cxx_to_python()
    test_rejections(rng)
    print(f"wire interop: {CHECKS[0] - len(FAILURES)}/{CHECKS[0]} checks passed")
    if FAILURES:
        print(f"{len(FAILURES)} FAILED")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
