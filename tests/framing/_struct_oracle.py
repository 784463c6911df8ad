#!/usr/bin/env python3
"""CPython's struct module as the oracle for struct_differential_test.ts.

Reads one JSON array of cases from stdin and writes one JSON array of results
(same order) to stdout. The test spawns this once per run.

Values travel typed:
  {"t": "int", "v": "<decimal>"}      {"t": "float", "v": "<16 hex digits, float64 bits>"}
  {"t": "bytes", "v": "<hex>"}        {"t": "bool", "v": true}
  {"t": "str", "v": "..."}            {"t": "none"}

A case is {"op", "form", "fmt", "args"?, "rseed", ...shape}. Where an input
depends on the struct's size (the bytes to unpack, the buffer to pack into,
the offset), this script builds it from calcsize() with random.Random(rseed)
and echoes it back under "in", so both sides run on the very same input.

A result is {"in": {...}, "size"?, "format"?} plus either "ok" (the outcome),
"error" ("<ExceptionType>: <message>", with "phase" "call" or "iterate"), or
"unexpected" for an exception outside the struct error family.
"""

import json
import random
import struct
import sys

# The exceptions that count as "struct rejected the input".
ERRORS = (struct.error, OverflowError, SystemError, TypeError, ValueError)

# Inputs sized from a format that is invalid or huge get a small random size.
MAX_BASE = 1024
SPECIAL_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)


def decode_value(v):
    t = v["t"]
    if t == "int":
        return int(v["v"])
    if t == "float":
        return struct.unpack(">d", bytes.fromhex(v["v"]))[0]
    if t == "bytes":
        return bytes.fromhex(v["v"])
    if t == "bool":
        return bool(v["v"])
    if t == "str":
        return v["v"]
    if t == "none":
        return None
    raise ValueError(f"unknown value type {t!r}")


def encode_value(x):
    if isinstance(x, bool):
        return {"t": "bool", "v": x}
    if isinstance(x, int):
        return {"t": "int", "v": str(x)}
    if isinstance(x, float):
        return {"t": "float", "v": struct.pack(">d", x).hex()}
    if isinstance(x, (bytes, bytearray)):
        return {"t": "bytes", "v": bytes(x).hex()}
    raise TypeError(f"cannot encode {type(x).__name__}")


def random_bytes(rng, n):
    out = bytearray(rng.randbytes(n))
    for i in range(n):
        if rng.random() < 0.2:
            out[i] = rng.choice(SPECIAL_BYTES)
    return bytes(out)


def base_size(fmt, rng):
    """calcsize(fmt) when it is valid and small, else a small random size."""
    try:
        size = struct.calcsize(fmt)
    except ERRORS:
        size = None
    if size is None or size > MAX_BASE:
        return rng.randrange(0, 24)
    return size


def pick_offset(case, rng, n, pre):
    mode = case["off"]
    if mode == "pos":
        return pre
    if mode == "neg":
        return pre - n
    return rng.randint(-n - 4, n + 4)


def build_inputs(case, rng):
    """Build (and return for echoing) the size-dependent inputs of a case."""
    op = case["op"]
    fmt = case["fmt"]
    if op not in ("unpack", "unpack_from", "iter_unpack", "pack_into"):
        return {}
    base = base_size(fmt, rng)
    if op == "unpack":
        return {"data": random_bytes(rng, max(0, base + case["delta"]))}
    if op == "iter_unpack":
        return {"data": random_bytes(rng, max(0, base * case["k"] + case["delta"]))}
    pre = 0 if case["off"] == "omit" else case["pre"]
    n = max(0, pre + base + case["delta"])
    inputs = {"data": random_bytes(rng, n)}
    if case["off"] != "omit":
        inputs["offset"] = pick_offset(case, rng, n, pre)
    return inputs


def run_op(case, inputs, out):
    """Run one case; returns the "ok" payload or raises."""
    op = case["op"]
    fmt = case["fmt"]
    args = [decode_value(v) for v in case.get("args", [])]
    target = struct
    if case["form"] == "class":
        out["phase"] = "call"
        s = struct.Struct(fmt)
        out["size"] = str(s.size)
        out["format"] = s.format
        target = s
        fmt_args = ()
    else:
        fmt_args = (fmt,)

    out["phase"] = "call"
    if op == "calcsize":
        size = s.size if case["form"] == "class" else struct.calcsize(fmt)
        return {"int": str(size)}
    if op == "pack":
        return {"bytes": target.pack(*fmt_args, *args).hex()}
    if op == "unpack":
        values = target.unpack(*fmt_args, inputs["data"])
        return {"values": [encode_value(v) for v in values]}
    if op == "unpack_from":
        if "offset" in inputs:
            values = target.unpack_from(*fmt_args, inputs["data"], inputs["offset"])
        else:
            values = target.unpack_from(*fmt_args, inputs["data"])
        return {"values": [encode_value(v) for v in values]}
    if op == "iter_unpack":
        it = target.iter_unpack(*fmt_args, inputs["data"])
        out["phase"] = "iterate"
        rows = [[encode_value(v) for v in row] for row in it]
        return {"rows": rows}
    if op == "pack_into":
        data = inputs["data"]
        # A spare byte past the end: CPython's "0p" writes its length byte at
        # its offset even when that is the end of the buffer.
        backing = bytearray(data) + b"\0"
        view = memoryview(backing)[: len(data)]
        try:
            target.pack_into(*fmt_args, view, inputs["offset"], *args)
        finally:
            view.release()
        return {"bytes": bytes(backing[: len(data)]).hex()}
    raise ValueError(f"unknown op {op!r}")


def run_case(case):
    rng = random.Random(case["rseed"])
    inputs = build_inputs(case, rng)
    out = {"in": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in inputs.items()}}
    try:
        # The format's size whatever the op, so the test can tell the sizes
        # past 2**53-1 that sockit refuses by design (a JS number is exact
        # only up to there).
        out["fsize"] = str(struct.calcsize(case["fmt"]))
    except ERRORS:
        pass
    try:
        out["ok"] = run_op(case, inputs, out)
        out.pop("phase", None)
    except ERRORS as e:
        out["error"] = f"{type(e).__name__}: {e}"
    except Exception as e:  # noqa: BLE001 - reported to the test as a harness problem
        out["unexpected"] = f"{type(e).__name__}: {e}"
    return out


def main():
    cases = json.load(sys.stdin)
    results = [run_case(c) for c in cases]
    json.dump(results, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
