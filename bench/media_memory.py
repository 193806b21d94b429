#!/usr/bin/env python3
"""Peak memory of processing one upload (issue 12, item 8).

Imports a one-article directory whose lead image is, in turn, a small
image (the baseline), the largest allowed photo-like image (48 MP RGB),
the largest allowed greyscale image (which must be converted to RGB), and
the reported decompression bomb (12000×12000 greyscale), through the real
binary (`masthead import`), and prints each run's peak resident memory
(getrusage of the child) and its ratio to the baseline.

    cargo build --release && python3 bench/media_memory.py [path/to/masthead]
"""
import os, struct, subprocess, sys, tempfile, zlib

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/masthead"


def png(w, h, channels, row):
    """A PNG whose every row is `row(y)` (bytes of w*channels)."""
    colour = {1: 0, 3: 2}[channels]
    raw = zlib.compressobj(6)
    parts = []
    for y in range(h):
        parts.append(raw.compress(b"\0" + row(y)))
    parts.append(raw.flush())
    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def gradient(w, channels):
    base = bytes((x * 255 // max(w - 1, 1)) for x in range(w))
    if channels == 1:
        return lambda y: base
    rgb = bytearray(w * 3)
    rgb[0::3] = base
    rgb[1::3] = base[::-1]
    return lambda y: bytes(rgb[:-3]) + bytes([y % 256, 0, 0])


def run(name, image):
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(f"{d}/content/articles")
        with open(f"{d}/content/lead.png", "wb") as f:
            f.write(image)
        with open(f"{d}/content/articles/a.md", "w") as f:
            f.write('+++\ntype = "article"\nslug = "memory-probe"\nheadline = "Memory probe"\n'
                    'content_type = "news"\nstatus = "published"\npublished_at = "2026-01-01T00:00:00Z"\n'
                    '[lead_image]\nfile = "../lead.png"\nalt = "A gradient."\n+++\nBody.\n')
        with open(f"{d}/out", "w+") as out:
            p = subprocess.Popen([BIN, "--data-dir", f"{d}/data", "import", f"{d}/content"],
                                 stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "MASTHEAD_LOG": "warn"})
            # wait4 gives this child's own peak resident memory.
            _, status, usage = os.wait4(p.pid, 0)
            out.seek(0)
            text = out.read().strip()
        ok = "imported" if status == 0 else "refused"
        detail = "" if status == 0 else text.splitlines()[-1][:110]
        return name, len(image), ok, usage.ru_maxrss, detail


def main():
    cases = [
        ("baseline 640x480 RGB", png(640, 480, 3, gradient(640, 3))),
        ("photo 8000x6000 RGB (48 MP)", png(8000, 6000, 3, gradient(8000, 3))),
        ("grey 8000x6000 (48 MP, converted)", png(8000, 6000, 1, gradient(8000, 1))),
        ("bomb 12000x12000 grey", png(12000, 12000, 1, gradient(12000, 1))),
    ]
    rows = [run(n, img) for n, img in cases]
    base = rows[0][3]
    print(f"{'case':38} {'file':>9} {'result':>9} {'peak RSS':>10} {'x base':>7}")
    for name, size, ok, peak, detail in rows:
        print(f"{name:38} {size / 1e6:7.1f}MB {ok:>9} {peak / 1024:7.0f} MB {peak / base:6.1f}x  {detail}")
    print(f"limit per upload (media::MAX_UPLOAD_MEMORY): 256 MB; largest above: "
          f"{max(r[3] for r in rows) / 1024:.0f} MB")


if __name__ == "__main__":
    main()
