#!/usr/bin/env python3
"""WordPress import benchmark (issue 14; loopback only).

Generates a WXR export of POSTS posts, each with two inline images (so
IMAGES = 2 × POSTS distinct PNGs of the stated size), served by an HTTP
server on 127.0.0.1. In the same run, on fresh SQLite data directories:

  1. baseline: the media pipeline over the same image files, in a loop —
     `masthead import DIR` of a Markdown directory whose articles use each
     image once as their lead image (read from disk, processed, stored);
  2. `masthead import --from wordpress` of the export (fetched over HTTP
     through the fetch guard, converted, sanitized, stored);
  3. the same import again: every item unchanged, nothing fetched.

Prints images per second for 1 and 2, the ratio (target >= 0.8), the
second run's time as a share of the first (target <= 0.1), that the second
run changed nothing, and each run's peak resident memory (target: the CLI
<= 200 MB). The full size (10,000 posts, 20,000 images) takes a while on
2 cores; --smoke runs a small one (CI).

    cargo build --release && python3 bench/wordpress_import.py [--posts N] [--smoke] [--bin PATH]
"""
import argparse
import http.server
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

W, H = 800, 533


_ROWS = []


def png(seed):
    """A distinct PNG of W×H: a gradient (its rows made once) whose first
    rows carry `seed`, so every image has its own pixels; making 20,000
    takes minutes, not hours."""
    if not _ROWS:
        for y in range(H):
            _ROWS.append(b"\0" + bytes(v for x in range(W) for v in ((x // 3) % 251, ((x + y) // 4) & 0xFF, (y // 2) & 0xFF)))
    raw = zlib.compressobj(6)
    parts = []
    for y in range(H):
        if y < 8:
            row = b"\0" + bytes(((seed >> (8 * (x % 4))) + x + 31 * y) & 0xFF for x in range(3 * W))
        else:
            row = _ROWS[y]
        parts.append(raw.compress(row))
    parts.append(raw.flush())

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def timed(cmd):
    """Runs `cmd`; returns (seconds, peak RSS in MB, stdout)."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        "p = subprocess.run(sys.argv[2:], capture_output=True, text=True)\n"
        "t = time.monotonic() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "open(sys.argv[1], 'w').write(f'{t} {rss}\\n' + p.stdout + '\\n---\\n' + p.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    with tempfile.NamedTemporaryFile("r", suffix=".out") as out:
        code = subprocess.run([sys.executable, "-c", wrapper, out.name, *cmd]).returncode
        text = open(out.name).read()
    head, _, rest = text.partition("\n")
    secs, rss = head.split()
    stdout, _, stderr = rest.partition("\n---\n")
    if code != 0 and "imported:" not in stdout:
        sys.exit(f"{cmd[3:]} failed ({code}):\n{stdout}\n{stderr[-3000:]}")
    return float(secs), int(rss) / 1024, stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=10_000)
    ap.add_argument("--smoke", action="store_true", help="a small run (CI)")
    ap.add_argument("--bin", default="target/release/masthead")
    args = ap.parse_args()
    posts = 40 if args.smoke else args.posts
    images = 2 * posts
    work = tempfile.mkdtemp(prefix="masthead-wp-bench-")
    files = os.path.join(work, "wp-content", "uploads")
    os.makedirs(files)
    print(f"generating {images} images of {W}x{H} and an export of {posts} posts…", flush=True)
    total_bytes = 0
    for i in range(images):
        data = png(i)
        total_bytes += len(data)
        with open(os.path.join(files, f"img-{i}.png"), "wb") as f:
            f.write(data)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=work, **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    export = os.path.join(work, "export.xml")
    with open(export, "w") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
                'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">\n'
                f'<channel><title>Bench</title><link>{base}</link><wp:base_site_url>{base}</wp:base_site_url>\n')
        for p in range(posts):
            a, b = 2 * p, 2 * p + 1
            body = (f"Paragraph one of post {p}.\n\n<img src=\"{base}/wp-content/uploads/img-{a}.png\" alt=\"A {a}\">\n\n"
                    f"Paragraph two.\n<!--more-->\n[caption]<img src=\"{base}/wp-content/uploads/img-{b}.png\" alt=\"B {b}\"> Caption {b}[/caption]\n\nThe end.")
            f.write(f"<item><title>Bench post {p}</title><link>{base}/2024/01/01/bench-{p}/</link>"
                    f"<content:encoded><![CDATA[{body}]]></content:encoded><wp:post_id>{p + 1}</wp:post_id>"
                    "<wp:post_date_gmt>2024-01-01 00:00:00</wp:post_date_gmt>"
                    f"<wp:post_name>bench-{p}</wp:post_name><wp:status>publish</wp:status><wp:post_type>post</wp:post_type></item>\n")
        f.write("</channel></rss>\n")

    # The baseline: the same files through the media pipeline, one lead
    # image per Markdown article.
    md = os.path.join(work, "md")
    os.makedirs(os.path.join(md, "img"))
    for i in range(images):
        # A hard link: the same file, inside the import directory.
        os.link(os.path.join(files, f"img-{i}.png"), os.path.join(md, "img", f"img-{i}.png"))
        with open(os.path.join(md, f"a{i}.md"), "w") as f:
            f.write(f'+++\ntype = "article"\nslug = "base-{i}"\nheadline = "Base {i}"\ncontent_type = "news"\n'
                    f'published_at = "2024-01-01T00:00:00Z"\n[lead_image]\nfile = "img/img-{i}.png"\nalt = "x"\n+++\nText.\n')

    def fresh():
        return tempfile.mkdtemp(prefix="data-", dir=work)

    bin_ = args.bin
    base_t, base_rss, base_out = timed([bin_, "--data-dir", fresh(), "import", md])
    data = fresh()
    cmd = [bin_, "--data-dir", data, "import", "--from", "wordpress", export, "--allow-private-fetch"]
    first_t, first_rss, first_out = timed(cmd)
    second_t, second_rss, second_out = timed(cmd)
    server.shutdown()

    mb = re.search(r"imported: (\d+) created", base_out)
    if not mb or int(mb.group(1)) != images:
        sys.exit(f"the baseline did not import every image:\n{base_out}")
    m = re.search(r"articles: (\d+) created", first_out)
    created = int(m.group(1)) if m else -1
    m2 = re.search(r"articles: 0 created, 0 updated, (\d+) unchanged", second_out)
    unchanged = int(m2.group(1)) if m2 else -1
    m3 = re.search(r"; (\d+) images;", first_out)
    copied = int(m3.group(1)) if m3 else -1
    base_rate = images / base_t
    wp_rate = copied / first_t if first_t else 0
    print(f"images: {images} PNGs of {W}x{H}, {total_bytes / 1e6:.1f} MB; posts: {posts}")
    print(f"baseline (media pipeline, Markdown import of the files): {base_t:.2f} s, {base_rate:.1f} images/s, peak {base_rss:.1f} MB")
    print(f"WordPress import, first run: {first_t:.2f} s, {created} articles, {copied} images copied, {wp_rate:.1f} images/s, peak {first_rss:.1f} MB")
    print(f"WordPress import, second run: {second_t:.2f} s, {unchanged} unchanged, peak {second_rss:.1f} MB")
    print(f"ratio import / media pipeline (images per second): {wp_rate / base_rate:.2f} (target >= 0.8)")
    print(f"second run / first run (time): {second_t / first_t:.3f} (target <= 0.1)")
    print(f"CLI peak resident memory: {max(first_rss, second_rss):.1f} MB (target <= 200 MB)")
    ok = created == posts and copied == images and unchanged == posts
    if not ok:
        print(f"FAIL: expected {posts} articles and {images} images, then {posts} unchanged:\n{first_out}\n{second_out}")
        sys.exit(1)


if __name__ == "__main__":
    main()
