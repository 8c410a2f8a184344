"""Compresses a varied corpus with zlib, gzip, zipfile and tarfile in every way the test
asks for and prints one line per case: its name, the output's length and SHA-256. Run
under CPython and under rpprof, the two listings must be equal line for line."""

import gzip
import hashlib
import io
import sys
import tarfile
import zipfile
import zlib


def incompressible(size, seed):
    """Deterministic bytes that do not compress (SHA-256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d/%d" % (seed, counter)).digest()
        counter += 1
    return bytes(out[:size])


def text(size):
    """Deterministic English-like text, words chosen by incompressible bytes."""
    words = (b"the quick brown fox jumps over a lazy dog while profilers sample "
             b"threads and stacks in python programs compress archives zlib gzip "
             b"zipfile deflate level strategy window memory dictionary flush").split()
    picks = incompressible(size // 3, 7)
    out = bytearray()
    for i, byte in enumerate(picks):
        out += words[byte % len(words)]
        out += b"\n" if i % 13 == 12 else b" "
        if len(out) >= size:
            break
    return bytes(out[:size])


def skewed(size):
    """Bytes from a small alphabet with runs: what Z_RLE and Huffman-only differ on."""
    source = incompressible(size // 4 + 1, 11)
    out = bytearray()
    for byte in source:
        out += bytes([97 + byte % 4]) * (1 + (byte >> 6))
        if len(out) >= size:
            break
    return bytes(out[:size])


CORPUS = {
    "empty": b"",
    "one": b"a",
    "text": text(40_000),
    "random": incompressible(40_000, 1),
    "repeat": b"abcdefgh" * 5_000,
    "zeros": bytes(40_000),
    "skewed": skewed(40_000),
}

LEVELS = list(range(-1, 10))
STRATEGIES = [zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED, zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE,
              zlib.Z_FIXED]
ALL_WBITS = list(range(9, 16)) + list(range(-15, -8)) + list(range(25, 32))


def show(name, data):
    print(name, len(data), hashlib.sha256(data).hexdigest()[:24])


def one_shot():
    for cname, data in CORPUS.items():
        for level in LEVELS:
            for wbits in ALL_WBITS:
                show(f"compress {cname} level={level} wbits={wbits}",
                     zlib.compress(data, level, wbits))
            show(f"compress {cname} level={level} default", zlib.compress(data, level))


def streamed(data, level, wbits, mem_level, strategy, zdict=None):
    """Feeds `data` in pieces with every flush mode, and a copy finished on the way."""
    args = (level, zlib.DEFLATED, wbits, mem_level, strategy)
    c = zlib.compressobj(*args) if zdict is None else zlib.compressobj(*args, zdict)
    n = len(data)
    out = [c.compress(data[: n // 5])]
    out.append(c.flush(zlib.Z_NO_FLUSH))
    out.append(c.compress(data[n // 5: n // 3]))
    out.append(c.flush(zlib.Z_SYNC_FLUSH))
    copied = c.copy()
    out.append(c.compress(data[n // 3: n // 2]))
    out.append(c.flush(zlib.Z_FULL_FLUSH))
    out.append(c.compress(data[n // 2: 3 * n // 4]))
    out.append(c.flush(zlib.Z_PARTIAL_FLUSH))
    out.append(c.compress(data[3 * n // 4:]))
    out.append(c.flush())
    tail = copied.compress(data[n // 3:]) + copied.flush(zlib.Z_FINISH)
    return b"".join(out), tail


def compress_objects():
    pieces = {name: data[:12_000] for name, data in CORPUS.items()}
    for cname, data in pieces.items():
        for level in LEVELS:
            for strategy in STRATEGIES:
                for wbits in (9, 15, -12, 31):
                    for mem_level in (1, 8, 9):
                        whole, tail = streamed(data, level, wbits, mem_level, strategy)
                        name = (f"compressobj {cname} level={level} strategy={strategy} "
                                f"wbits={wbits} memLevel={mem_level}")
                        show(name, whole)
                        show(name + " copy", tail)
    # Plain one-piece use, all defaults and every wbits.
    for cname, data in CORPUS.items():
        for wbits in ALL_WBITS:
            c = zlib.compressobj(wbits=wbits)
            show(f"compressobj {cname} wbits={wbits} one piece", c.compress(data) + c.flush())


def dictionaries():
    zdict = CORPUS["text"][:2_000]
    for cname in ("text", "repeat", "random"):
        data = CORPUS[cname][:20_000]
        for level in LEVELS:
            for wbits in (15, -15, 10):
                whole, tail = streamed(data, level, wbits, 8, 0, zdict)
                show(f"zdict {cname} level={level} wbits={wbits}", whole + tail)


def big_inputs():
    """Enough output to cross CPython's output blocks (32 KiB, 64 KiB, 256 KiB, 1 MiB,
    4 MiB), where level 0's stored blocks are cut."""
    big = incompressible(2_500_000, 3) + CORPUS["text"] * 20
    for level in (0, 1, 6, 9):
        show(f"big compress level={level}", zlib.compress(big, level))
        c = zlib.compressobj(level)
        show(f"big compressobj level={level}",
             c.compress(big[:1_000_000]) + c.compress(big[1_000_000:]) + c.flush())


def archives():
    data = CORPUS["text"] + CORPUS["skewed"] + CORPUS["random"][:5_000]
    for level in range(1, 10):
        show(f"gzip.compress level={level}", gzip.compress(data, level, mtime=1_700_000_000))
        raw = io.BytesIO()
        with gzip.GzipFile("data.txt", "wb", level, raw, mtime=1_700_000_000) as f:
            for start in range(0, len(data), 7_000):
                f.write(data[start:start + 7_000])
        show(f"GzipFile level={level}", raw.getvalue())
    for level in [None] + list(range(0, 10)):
        raw = io.BytesIO()
        with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
            for i, (cname, content) in enumerate(sorted(CORPUS.items())):
                info = zipfile.ZipInfo(f"{cname}.bin", date_time=(2024, 1, 2, 3, 4, 5 + i))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, content)
        show(f"zipfile level={level}", raw.getvalue())
    for level in (1, 6, 9):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=level) as tar:
            for cname, content in sorted(CORPUS.items()):
                info = tarfile.TarInfo(cname)
                info.size, info.mtime, info.mode = len(content), 1_700_000_000, 0o644
                info.uname = info.gname = "user"
                tar.addfile(info, io.BytesIO(content))
        out = bytearray(raw.getvalue())
        out[4:8] = bytes(4)  # the gzip header's mtime: tarfile stamps the current time
        show(f"tarfile w:gz level={level}", bytes(out))


for part in (one_shot, compress_objects, dictionaries, big_inputs, archives):
    part()
sys.stdout.flush()
