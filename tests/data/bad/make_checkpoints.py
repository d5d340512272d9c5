#!/usr/bin/env python3
"""Regenerates tests/data/good/checkpoint (a tiny trained model) and every damaged copy
of it under tests/data/bad/checkpoints/, each with exactly one defect.

Run from the project root after building the `sentiment` program:

    python3 tests/data/bad/make_checkpoints.py build/sentiment

Standard library only (no numpy): weights.npz is a zip of .npy members, edited here
with zipfile and the .npy format's header by hand. What the program must answer for
each case is in tests/data/bad/checkpoints/expected.tsv, kept by hand: a new case
needs its line there (tests/test_bad_input.cpp checks that both lists agree).
"""
import ast
import json
import random
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

GOOD = Path("tests/data/good")
BASE = GOOD / "checkpoint"
CASES = Path("tests/data/bad/checkpoints")


# ---- .npy and .npz by hand ------------------------------------------------------

def parse_npy(data):
    assert data[:6] == b"\x93NUMPY", "not a .npy member"
    major = data[6]
    size_format, start = ("<H", 10) if major == 1 else ("<I", 12)
    (header_len,) = struct.unpack(size_format, data[8:start])
    header = ast.literal_eval(data[start:start + header_len].decode("latin1"))
    return header, data[start + header_len:]


def make_npy(descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + payload


def read_npz(path):
    with zipfile.ZipFile(path) as z:
        return {name[:-4]: z.read(name) for name in z.namelist()}


def write_npz(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for key, data in members.items():
            z.writestr(key + ".npy", data)


def edit_weights(case, edit):
    members = read_npz(case / "weights.npz")
    edit(members)
    write_npz(case / "weights.npz", members)


def floats(data):
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def pack_floats(values):
    return struct.pack("<%df" % len(values), *values)


# ---- the defects ------------------------------------------------------------------

def garbage(n, seed):
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def zip_bomb(case):
    """weights.npz whose embedding.weight member declares 16 MiB of zeros, deflated to
    16 KB: refused from the zip's directory, before inflating (Note [Bounded .npz reading])."""
    members = read_npz(case / "weights.npz")
    elements = 4 << 20
    members["embedding.weight"] = make_npy("<f4", (elements,), bytes(4 * elements))
    with zipfile.ZipFile(case / "weights.npz", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for key, data in members.items():
            z.writestr(key + ".npy", data)


def extra_vocab_lines(case, n=1000):
    with open(case / "vocab.txt", "a") as f:
        for i in range(n):
            f.write("extra%d\n" % i)


def replace_in_config(old, new):
    def edit(case):
        text = (case / "config.json").read_text()
        assert old in text, old
        (case / "config.json").write_text(text.replace(old, new, 1))
    return edit


def edit_config(case, edit):
    config = json.loads((case / "config.json").read_text())
    edit(config)
    (case / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def transpose_hh(m):
    header, data = parse_npy(m["lstm.weight_hh_l0"])
    rows, cols = header["shape"]
    m["lstm.weight_hh_l0"] = make_npy("<f4", (cols, rows), data)


def as_int64(m):
    header, data = parse_npy(m["embedding.weight"])
    m["embedding.weight"] = make_npy("<i8", header["shape"], struct.pack("<%dq" % (len(data) // 4), *[
        int(x * 1000) for x in floats(data)]))


def as_float16(m):
    header, data = parse_npy(m["classifier.bias"])
    values = floats(data)
    m["classifier.bias"] = make_npy("<f2", header["shape"], struct.pack("<%de" % len(values), *values))


def extra_row(m):
    header, data = parse_npy(m["embedding.weight"])
    rows, cols = header["shape"]
    m["embedding.weight"] = make_npy("<f4", (rows + 1, cols), data + pack_floats([0.5] * cols))


def nan_weight(m):
    header, data = parse_npy(m["classifier.weight"])
    values = floats(data)
    values[3] = float("nan")
    m["classifier.weight"] = make_npy("<f4", header["shape"], pack_floats(values))


def bad_magic(m):
    m["lstm.bias_ih_l0"] = b"\x93NUMPZ" + m["lstm.bias_ih_l0"][6:]


def drop_last_token(case):
    lines = (case / "vocab.txt").read_text().splitlines()
    (case / "vocab.txt").write_text("\n".join(lines[:-1]) + "\n")


def duplicate_token(case):
    lines = (case / "vocab.txt").read_text().splitlines()
    lines[-1] = lines[2]
    (case / "vocab.txt").write_text("\n".join(lines) + "\n")


def truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def set_field(*path_and_value):
    *path, value = path_and_value

    def edit(config):
        target = config
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def delete_field(*path):
    def edit(config):
        target = config
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return edit


LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 4096\n")

CASES_MADE = {
    # missing files
    "no-weights": lambda c: (c / "weights.npz").unlink(),
    "no-vocab": lambda c: (c / "vocab.txt").unlink(),
    "no-config": lambda c: (c / "config.json").unlink(),
    # weights.npz
    "weights-truncated": lambda c: truncate(c / "weights.npz", 0.5),
    "weights-empty": lambda c: (c / "weights.npz").write_bytes(b""),
    "weights-garbage": lambda c: (c / "weights.npz").write_bytes(garbage(2048, 1)),
    "weights-git-lfs-pointer": lambda c: (c / "weights.npz").write_bytes(LFS_POINTER),
    "weights-bad-npy-magic": lambda c: edit_weights(c, bad_magic),
    "weights-wrong-shape": lambda c: edit_weights(c, transpose_hh),
    "weights-wrong-dtype-int": lambda c: edit_weights(c, as_int64),
    "weights-wrong-dtype-float16": lambda c: edit_weights(c, as_float16),
    "weights-missing-parameter": lambda c: edit_weights(c, lambda m: m.pop("attention.context")),
    "weights-extra-parameter": lambda c: edit_weights(
        c, lambda m: m.__setitem__("lstm.weight_ih_l1", m["lstm.weight_ih_l0"])),
    "weights-embedding-rows": lambda c: edit_weights(c, extra_row),
    "weights-nan": lambda c: edit_weights(c, nan_weight),
    # vocab.txt
    "vocab-garbage": lambda c: (c / "vocab.txt").write_bytes(garbage(512, 2)),
    "vocab-one-short": drop_last_token,
    "vocab-duplicate-token": duplicate_token,
    # config.json
    "config-garbage": lambda c: (c / "config.json").write_bytes(garbage(512, 3)),
    "config-truncated": lambda c: truncate(c / "config.json", 0.5),
    "config-not-an-object": lambda c: (c / "config.json").write_text("[1, 2, 3]\n"),
    "config-other-format": lambda c: edit_config(c, set_field("format", "keras model")),
    "config-newer-version": lambda c: edit_config(c, set_field("version", 2)),
    "config-two-labels": lambda c: edit_config(c, lambda j: (set_field("labels", ["negative", "positive"])(j),
                                                             set_field("model", "classes", 2)(j))),
    "config-labels-reordered": lambda c: edit_config(c, set_field("labels", ["positive", "neutral", "negative"])),
    "config-missing-field": lambda c: edit_config(c, delete_field("model", "hidden_size")),
    "config-size-as-string": lambda c: edit_config(c, set_field("model", "hidden_size", "2")),
    "config-unknown-pooling": lambda c: edit_config(c, set_field("model", "pooling", "max")),
    "config-dropout-out-of-range": lambda c: edit_config(c, set_field("model", "embedding_dropout", 1.5)),
    "config-vocab-size-mismatch": lambda c: edit_config(c, set_field("model", "vocab_size", 1000)),
    # resource limits (Note [Resource limits] in models/limits.hpp)
    "config-huge-model": lambda c: edit_config(c, lambda j: (set_field("model", "hidden_size", 60000)(j),
                                                             set_field("model", "vocab_size", 10**9)(j))),
    "config-too-many-parameters": lambda c: edit_config(c, lambda j: (set_field("model", "vocab_size", 5000000)(j),
                                                                      set_field("model", "embedding_dim", 4096)(j))),
    "config-huge-max-tokens": lambda c: edit_config(c, set_field("tokenizer", "max_tokens", 10**9)),
    "config-huge-batch-size": lambda c: edit_config(c, set_field("train", "batch_size", 10**12)),
    # input size limits (Note [Input size limits]) and numbers a double cannot hold
    "weights-zip-bomb": zip_bomb,
    "vocab-too-many-lines": extra_vocab_lines,
    "config-number-overflow": replace_in_config('"lr": ', '"lr": 1e400, "was": '),
    "config-huge-epochs": lambda c: edit_config(c, set_field("train", "epochs", 4611686018427387904)),
}


def train_base(binary):
    if BASE.exists():
        shutil.rmtree(BASE)
    subprocess.run([binary, "train", "--train", str(GOOD / "tiny.csv"), "--valid", str(GOOD / "tiny.csv"),
                    "--out", str(BASE), "--recipe", "canonical", "--epochs", "2", "--hidden", "2", "--embedding",
                    "2", "--batch-size", "8", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 tests/data/bad/make_checkpoints.py BUILD/sentiment")
    train_base(sys.argv[1])
    if CASES.exists():
        for old in CASES.iterdir():
            if old.is_dir():
                shutil.rmtree(old)
    for name, damage in CASES_MADE.items():
        case = CASES / name
        shutil.copytree(BASE, case)
        damage(case)
    print(f"wrote {BASE} and {len(CASES_MADE)} cases under {CASES}")


if __name__ == "__main__":
    main()
