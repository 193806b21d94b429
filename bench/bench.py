"""Masthead benchmark driver (loopback only; every loop is bounded).

Part 1, throughput: the demo's article page from Masthead, the very same
bytes as a static file from nginx, and the same bytes from `bare-server`
(tokio + hyper + axum with no middleware: the HTTP stack's own ceiling),
measured in turn in this run with `wrk -t2 -c64 --latency` (no
Accept-Encoding), after a warm-up.
Part 2, memory and cold start.
Part 3, every reader page type (article, home, section, topic, author,
RSS feed, sitemap, search), cookieless and as a signed-in member, each
beside nginx serving that page's own bytes.
Part 4, cached pages while an article is saved once a second; the
paywall's reader states beside nginx; a 10-minute soak of mixed traffic
with the resident memory sampled every 30 s.
Part 5, scale: uncached render latency (no page cache, one connection) of
the article, home, section, topic, author, feed and search pages with
1,000 and 100,000 generated articles, on SQLite and on PostgreSQL.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SEARCH_QUERIES = [
    # From rare to common in the generator's vocabulary.
    "zooplankton", "waterfront", "trawler", "riprap", "outfall", "levee",
    "hatchery", "dredging", "causeway", "abalone", "wharf seawall", "estuary",
    "festival", "wildfire", "climate", "hospital", "transit", "budget",
    "council", "city",
]

LUA = """
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return r.read()
        except Exception:
            pass
        time.sleep(0.005)
    raise SystemExit(f"{url} did not answer 200 within {timeout}s")


def parse_wrk(out):
    def latency(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        v, unit = float(m.group(1)), m.group(2)
        return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50": latency("50"),
        "p99": latency("99"),
        "non2xx": int(errors.group(1)) if errors else 0,
    }


def wrk(url, seconds, connections=64, paths_file=None, lua=None, headers=()):
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    env = dict(os.environ)
    if paths_file:
        cmd += ["-s", lua]
        env["PATHS_FILE"] = paths_file
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=seconds + 60).stdout
    r = parse_wrk(out)
    if r["non2xx"]:
        raise SystemExit(f"wrk saw {r['non2xx']} error responses from {url}:\n{out}")
    return r


def paired(url_a, url_b, warm, secs, rounds, headers_a=()):
    """Measures A and B alternately, `rounds` times each, after a warm-up
    of both; returns the runs with the median throughput of each side.
    Alternating keeps a slow patch of the machine from landing on one side."""
    wrk(url_a, warm, headers=headers_a)
    wrk(url_b, warm)
    runs_a, runs_b = [], []
    for _ in range(rounds):
        runs_a.append(wrk(url_a, secs, headers=headers_a))
        runs_b.append(wrk(url_b, secs))
    med = lambda runs: sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return med(runs_a), med(runs_b)


def alternating(urls, warm, secs, rounds):
    """Like `paired`, for any number of servers: each warmed, then measured
    in turn `rounds` times; returns the median run of each."""
    for u in urls:
        wrk(u, warm)
    runs = [[] for _ in urls]
    for _ in range(rounds):
        for i, u in enumerate(urls):
            runs[i].append(wrk(u, secs))
    return [sorted(r, key=lambda x: x["rps"])[len(r) // 2] for r in runs]


def bare_serving(html_bytes, workdir, binary):
    """The second baseline: tokio + hyper + axum serving the same bytes from
    memory with no middleware (the example `bare-server`)."""
    bare = os.path.join(os.path.dirname(binary), "examples", "bare-server")
    if not os.path.exists(bare):
        raise SystemExit(f"{bare} does not exist; build it first (cargo build --release --example bare-server)")
    path = os.path.join(workdir, "bare-article.html")
    with open(path, "wb") as f:
        f.write(html_bytes)
    port = free_port()
    proc = subprocess.Popen([bare, path, f"127.0.0.1:{port}"])
    url = f"http://127.0.0.1:{port}/article"
    served = wait_http(url, 10)
    assert served == html_bytes, "bare-server must serve the same bytes"
    return proc, url


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Masthead:
    def __init__(self, binary, data_dir, db_url=None, demo=False, page_cache_mb=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # One client making thousands of requests: no search limit, and room
        # for wrk's connections beside the probes.
        conf = os.path.join(data_dir, "bench.toml")
        os.makedirs(data_dir, exist_ok=True)
        with open(conf, "w") as f:
            f.write("[server]\nsearches_per_minute = 0\nmax_connections_per_client = 1024\n")
            if page_cache_mb is not None:
                f.write(f"page_cache_mb = {page_cache_mb}\n")
        cmd = [binary, "--config", conf, "--data-dir", data_dir]
        if db_url:
            cmd += ["--database-url", db_url]
        cmd += ["serve", "--listen", f"127.0.0.1:{self.port}"]
        if demo:
            cmd.append("--demo")
        env = dict(os.environ, MASTHEAD_LOG="warn")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def nginx_serving(html_bytes, workdir, content_type="text/html; charset=utf-8"):
    root = os.path.join(workdir, "nginx")
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "article.html"), "wb") as f:
        f.write(html_bytes)
    port = free_port()
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ default_type "{content_type}"; try_files /article.html =404; }}
  }}
}}
""")
    proc = subprocess.Popen(["nginx", "-c", conf, "-g", "daemon off;"])
    url = f"http://127.0.0.1:{port}/article"
    served = wait_http(url, 10)
    assert served == html_bytes, "nginx must serve the same bytes"
    return proc, url


def first_article(html):
    m = re.search(r'class="card-headline"><a href="(/[a-z0-9-]+)"', html)
    if not m:
        raise SystemExit("no article link on the demo home page")
    return m.group(1)


def part_throughput(binary, work, warm, secs):
    data = os.path.join(work, "demo-data")
    print("== Article page: Masthead vs nginx serving the same bytes ==")
    seeding = Masthead(binary, data, demo=True)
    home = wait_http(seeding.base + "/", 180).decode()
    path = first_article(home)
    seeding.stop()

    # Cold start: exec to the first 200 on the article page, data already seeded.
    starts = []
    for _ in range(5):
        m = Masthead(binary, data)
        wait_http(m.base + path, 30)
        starts.append((time.monotonic() - m.started) * 1000)
        m.stop()

    m = Masthead(binary, data)
    body = wait_http(m.base + path, 30)
    ng, ng_url = nginx_serving(body, work)
    bare, bare_url = bare_serving(body, work, binary)
    try:
        mh, br, nx = alternating([m.base + path, bare_url, ng_url], warm, secs, ROUNDS)
        mem = rss_mb(m.proc.pid)
    finally:
        for p in (ng, bare):
            p.terminate()
            p.wait()
        m.stop()
    print(f"page: {path} ({len(body)} bytes), wrk -t2 -c64, {warm}s warm-up, "
          f"{ROUNDS} alternating runs of {secs}s per server, medians")
    print(f"{'':12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'masthead':12} {mh['rps']:>10.0f} {mh['p50']:>8.2f} {mh['p99']:>8.2f}")
    print(f"{'bare axum':12} {br['rps']:>10.0f} {br['p50']:>8.2f} {br['p99']:>8.2f}")
    print(f"{'nginx':12} {nx['rps']:>10.0f} {nx['p50']:>8.2f} {nx['p99']:>8.2f}")
    print(f"ratio throughput masthead/nginx: {mh['rps'] / nx['rps']:.2f}x (target >= 0.9)")
    print(f"ratio throughput bare axum/nginx: {br['rps'] / nx['rps']:.2f}x (the HTTP stack's own ceiling)")
    print(f"ratio throughput masthead/bare axum: {mh['rps'] / br['rps']:.2f}x (what Masthead's work costs)")
    print(f"ratio p99 masthead/nginx:        {mh['p99'] / nx['p99']:.2f}x (target <= 2)")
    print(f"masthead resident memory after the load: {mem:.1f} MB (target <= 60)")
    starts.sort()
    print(f"cold start, exec to first 200 on the article (5 runs): median {starts[2]:.0f} ms, "
          f"max {starts[-1]:.0f} ms (target <= 200)")
    print()


def part_pages(binary, work, warm, secs):
    """Every reader page type, cookieless and as a signed-in member, each
    beside nginx serving that page's own bytes (the bytes that reader
    gets), alternating, medians."""
    data = os.path.join(work, "demo-data")
    print("== Every reader page type vs nginx serving its own bytes (wrk -t2 -c64) ==")
    # Seeds the demo when this part runs alone (--only pages).
    m = Masthead(binary, data, demo=True)
    home = wait_http(m.base + "/", 30).decode()
    article = first_article(home)
    author = re.search(r'href="(/authors/[a-z0-9-]+)"', wait_http(m.base + "/authors", 10).decode())
    topic = re.search(r'href="(/topics/[a-z0-9-]+)"', wait_http(m.base + "/topics", 10).decode())
    pages = [
        ("article", article, 0.95),
        ("home", "/", 0.9),
        ("section", "/sections/news", 0.9),
        ("topic", topic.group(1), 0.9),
        ("author", author.group(1), 0.9),
        ("rss feed", "/feeds/rss.xml", 0.9),
        ("sitemap", "/sitemaps/articles-1.xml", 0.9),
        ("search", "/search?q=harbour", None),
    ]
    st, h, _ = fetch(m.base + "/signup", data=b"email=bench.pages%40example.org&return_to=%2F",
                     origin=m.base)
    if st != 303:
        raise SystemExit(f"sign-up answered {st}")
    member = set_cookie(h, "masthead_session")
    rows = []
    try:
        for who, cookie, member_target in (("cookieless", None, None), ("member", member, 0.7)):
            for name, path, target in pages:
                st, h, body = fetch(m.base + path, cookie=cookie)
                if st != 200:
                    raise SystemExit(f"{path} answered {st}")
                ng, ng_url = nginx_serving(body, work, h.get("Content-Type") or "text/html")
                try:
                    headers = [f"Cookie: {cookie}"] if cookie else []
                    mh, nx = paired(m.base + path, ng_url, warm, secs, ROUNDS, headers_a=headers)
                finally:
                    ng.terminate()
                    ng.wait()
                goal = None if target is None else (member_target or target)
                rows.append((who, name, path, len(body), mh, nx, goal))
        mem = rss_mb(m.proc.pid)
    finally:
        m.stop()
    print(f"{warm}s warm-up, {ROUNDS} alternating runs of {secs}s per side, medians; no Accept-Encoding")
    print(f"{'reader':11} {'page':9} {'bytes':>7} {'req/s':>8} {'p50':>6} {'p99':>6} "
          f"{'nginx':>8} {'p99':>6} {'ratio':>6} {'p99 x':>6} {'target':>7}")
    for who, name, path, size, mh, nx, goal in rows:
        ratio = mh["rps"] / nx["rps"]
        p99x = mh["p99"] / nx["p99"] if nx["p99"] else float("nan")
        t = "-" if goal is None else f">= {goal}"
        print(f"{who:11} {name:9} {size:>7} {mh['rps']:>8.0f} {mh['p50']:>6.2f} {mh['p99']:>6.2f} "
              f"{nx['rps']:>8.0f} {nx['p99']:>6.2f} {ratio:>5.2f}x {p99x:>5.2f}x {t:>7}")
    print(f"masthead resident memory after the load: {mem:.1f} MB (target <= 60)")
    print("(latencies in ms; p99 x = masthead p99 / nginx p99, target <= 2)")
    print()


def part_api(binary, work, warm, secs):
    """The Content API's posts browse (limit 15, tags and authors
    included), as Ghost's clients ask it, beside nginx serving the same
    bytes."""
    data = os.path.join(work, "demo-data")
    print("== Content API posts browse vs nginx serving the same bytes (wrk -t2 -c64) ==")
    m = Masthead(binary, data, demo=True)
    wait_http(m.base + "/", 30)
    out = subprocess.run([binary, "--data-dir", data, "integrations", "add", "Bench"],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, MASTHEAD_LOG="warn")).stdout
    key = re.search(r"Content API key: ([0-9a-f]{26})", out).group(1)
    path = f"/ghost/api/content/posts/?key={key}&limit=15&include=tags,authors"
    deadline = time.monotonic() + 10
    while True:
        st, h, body = fetch(m.base + path)
        if st == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if st != 200:
        raise SystemExit(f"{path} answered {st}")
    ng, ng_url = nginx_serving(body, work, "application/json; charset=utf-8")
    try:
        mh, nx = paired(m.base + path, ng_url, warm, secs, ROUNDS)
    finally:
        ng.terminate()
        ng.wait()
        mem = rss_mb(m.proc.pid)
        m.stop()
    ratio = mh["rps"] / nx["rps"]
    print(f"{warm}s warm-up, {ROUNDS} alternating runs of {secs}s per side, medians; {len(body)} bytes")
    print(f"{'':10} {'req/s':>8} {'p50':>6} {'p99':>6}")
    print(f"{'masthead':10} {mh['rps']:>8.0f} {mh['p50']:>6.2f} {mh['p99']:>6.2f}")
    print(f"{'nginx':10} {nx['rps']:>8.0f} {nx['p50']:>6.2f} {nx['p99']:>6.2f}")
    print(f"ratio {ratio:.2f}x (target >= 0.5); resident memory after: {mem:.1f} MB")
    print()


def demo_paths(base):
    """Every reader page type of the demo, for mixed traffic."""
    home = wait_http(base + "/", 30).decode()
    articles = sorted(set(re.findall(r'class="card-headline"><a href="(/[a-z0-9-]+)"', home)))
    topics = sorted(set(re.findall(r'href="(/topics/[a-z0-9-]+)"', wait_http(base + "/topics", 10).decode())))
    authors = sorted(set(re.findall(r'href="(/authors/[a-z0-9-]+)"', wait_http(base + "/authors", 10).decode())))
    return articles + topics + authors + [
        "/", "/?page=2", "/sections/news", "/sections/analysis", "/feeds/rss.xml", "/feeds/atom.xml",
        "/sitemap.xml", "/sitemaps/articles-1.xml", "/news-sitemap.xml", "/robots.txt",
        "/search?q=harbour", "/search?q=council",
    ]


def part_churn(binary, work, warm, secs):
    """Cached pages while an article readers see is saved once a second
    (a Markdown import from another process: the server drops its caches
    when it sees the content counter move), beside nginx."""
    data = os.path.join(work, "demo-data")
    print("== Cached pages with one article save per second vs nginx (wrk -t2 -c64) ==")
    m = Masthead(binary, data)
    wait_http(m.base + "/", 30)
    md = os.path.join(work, "churn")
    os.makedirs(md, exist_ok=True)
    stop = []

    def saver():
        n = 0
        while not stop:
            n += 1
            with open(os.path.join(md, "churn.md"), "w") as f:
                f.write('+++\ntype = "article"\nslug = "churn-desk-update"\nheadline = "Desk update"\n'
                        f'content_type = "news"\npublished_at = "2026-11-01T00:00:00Z"\n+++\nRevision {n}.\n')
            t = time.monotonic()
            subprocess.run([binary, "--data-dir", data, "import", md], capture_output=True,
                           env=dict(os.environ, MASTHEAD_LOG="warn"))
            saves.append(n)
            time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))

    saves = []
    rows = []
    thread = threading.Thread(target=saver, daemon=True)
    thread.start()
    try:
        for name, path in (("home", "/"), ("topic", "/topics/transit"), ("rss feed", "/feeds/rss.xml")):
            st, h, body = fetch(m.base + path)
            ng, ng_url = nginx_serving(body, work, h.get("Content-Type") or "text/html")
            try:
                mh, nx = paired(m.base + path, ng_url, warm, secs, ROUNDS)
            finally:
                ng.terminate()
                ng.wait()
            rows.append((name, mh, nx))
    finally:
        stop.append(True)
        thread.join(timeout=30)
        m.stop()
    print(f"{len(saves)} saves during the run; {ROUNDS} alternating runs of {secs}s per side, medians")
    for name, mh, nx in rows:
        print(f"{name:9} {mh['rps']:>8.0f} req/s (p99 {mh['p99']:.2f} ms) vs nginx {nx['rps']:>8.0f}: "
              f"{mh['rps'] / nx['rps']:.2f}x (target >= 0.7)")
    print()


def part_soak(binary, work, seconds, slice_secs):
    """Mixed cookieless traffic over every page type for `seconds`, the
    server's resident memory sampled after each slice."""
    data = os.path.join(work, "demo-data")
    print(f"== Soak: {seconds}s of mixed traffic over every page type (wrk -t2 -c32) ==")
    m = Masthead(binary, data)
    try:
        paths = demo_paths(m.base)
        pf = os.path.join(work, "paths-soak.txt")
        with open(pf, "w") as f:
            f.write("\n".join(paths) + "\n")
        lua = os.path.join(work, "paths.lua")
        with open(lua, "w") as f:
            f.write(LUA)
        samples = []
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            r = wrk(m.base + "/", slice_secs, connections=32, paths_file=pf, lua=lua)
            samples.append((rss_mb(m.proc.pid), r["rps"]))
    finally:
        m.stop()
    first, last = samples[0][0], samples[-1][0]
    low, high = min(s for s, _ in samples), max(s for s, _ in samples)
    print(f"{len(paths)} paths; resident memory by slice (MB): " + " ".join(f"{s:.1f}" for s, _ in samples))
    print(f"req/s by slice: " + " ".join(f"{r:.0f}" for _, r in samples))
    print(f"first {first:.1f} MB, last {last:.1f} MB, range {low:.1f}-{high:.1f} MB: "
          f"last/first {last / first:.2f} (target within 0.90-1.10), max {high:.1f} MB (target <= 60)")
    print()


ROUNDS = 3
METERED = "/council-approves-harbour-seawall-plan"
OTHER_METERED = "/bus-network-redesign-approved"


def fetch(url, cookie=None, data=None, origin=None):
    """One request without following redirects: (status, headers, body)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None
    req = urllib.request.Request(url, data=data)
    if cookie:
        req.add_header("Cookie", cookie)
    if origin:
        req.add_header("Origin", origin)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def set_cookie(headers, name):
    for v in headers.get_all("Set-Cookie") or []:
        if v.startswith(name + "="):
            return v.split(";", 1)[0]
    raise SystemExit(f"no {name} cookie in the response")


def part_access(binary, work, warm, secs):
    """The metered article for readers with state: each scenario beside
    nginx serving the very bytes that scenario gets, in this run."""
    data = os.path.join(work, "demo-data")
    print("== Paywall: metered article views by reader state vs nginx (wrk -t2 -c64) ==")
    m = Masthead(binary, data)
    wait_http(m.base + METERED, 30)
    # An anonymous reader who has read this article (a re-read: no new count).
    st, h, _ = fetch(m.base + METERED)
    reread = set_cookie(h, "masthead_meter")
    # One who has read another article: every view of this one is newly
    # counted and answered with an updated cookie.
    st, h, _ = fetch(m.base + OTHER_METERED)
    newly = set_cookie(h, "masthead_meter")
    # A member signed up from the offer box, who has read the article once.
    st, h, _ = fetch(m.base + "/signup", data=b"email=bench.member%40example.org&return_to=%2F",
                     origin=m.base)
    if st != 303:
        raise SystemExit(f"sign-up answered {st}")
    member = set_cookie(h, "masthead_session")
    fetch(m.base + METERED, cookie=member)
    scenarios = [
        ("anonymous, re-read", reread, 0.6),
        ("anonymous, newly counted", newly, 0.6),
        ("member", member, 0.5),
    ]
    rows = []
    try:
        for name, cookie, target in scenarios:
            st, h, body = fetch(m.base + METERED, cookie=cookie)
            if st != 200 or b'class="offer"' in body:
                raise SystemExit(f"{name}: expected the full article, got {st}")
            ng, ng_url = nginx_serving(body, work)
            try:
                mh, nx = paired(m.base + METERED, ng_url, warm, secs, ROUNDS,
                                headers_a=[f"Cookie: {cookie}"])
            finally:
                ng.terminate()
                ng.wait()
            rows.append((name, mh, nx, target))
        mem = rss_mb(m.proc.pid)
    finally:
        m.stop()
    print(f"page: {METERED}, {warm}s warm-up, {ROUNDS} alternating runs of {secs}s per side, medians")
    print(f"{'reader':26} {'req/s':>9} {'p99 ms':>8} {'nginx req/s':>12} {'nginx p99':>10} {'ratio':>7} {'target':>7}")
    for name, mh, nx, target in rows:
        ratio = mh["rps"] / nx["rps"]
        print(f"{name:26} {mh['rps']:>9.0f} {mh['p99']:>8.2f} {nx['rps']:>12.0f} {nx['p99']:>10.2f} "
              f"{ratio:>6.2f}x {'>= ' + str(target):>7}")
    print(f"masthead resident memory after the load: {mem:.1f} MB")
    print()


def pg_admin():
    return os.environ.get("MASTHEAD_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def psql(sql):
    subprocess.run(["psql", pg_admin(), "-q", "-c", sql], check=True, capture_output=True)


def scale_run(binary, work, backend, n, secs):
    data = os.path.join(work, f"scale-{backend}-{n}")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    db_url = None
    if backend == "postgres":
        name = f"masthead_bench_{n}"
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(f"CREATE DATABASE {name}")
        db_url = pg_admin().rsplit("/", 1)[0] + "/" + name
    gen = [binary, "--data-dir", data] + (["--database-url", db_url] if db_url else [])
    t0 = time.monotonic()
    subprocess.run(gen + ["generate", "--articles", str(n)], check=True,
                   env=dict(os.environ, MASTHEAD_LOG="warn"), stdout=subprocess.DEVNULL)
    gen_secs = time.monotonic() - t0
    # No page cache: these are render times (the cached pages are
    # part_pages' business).
    m = Masthead(binary, data, db_url, page_cache_mb=0)
    results = {}
    try:
        wait_http(m.base + "/", 60)
        step = max(1, n // 200)
        kinds = {
            "article": [f"/generated-article-{k}" for k in range(0, n, step)],
            "topic": [f"/topics/generated-topic-{t}?page={p}" for t in range(8) for p in ((1, 3) if n >= 1000 else (1,))],
            "home": ["/"],
            "section": ["/sections/news", "/sections/analysis", "/sections/memo"],
            "author": [f"/authors/generated-author-{a}" for a in range(4)],
            "rss": ["/feeds/rss.xml"],
            "search": ["/search?q=" + q.replace(" ", "+") for q in SEARCH_QUERIES],
        }
        lua = os.path.join(work, "paths.lua")
        with open(lua, "w") as f:
            f.write(LUA)
        for kind, paths in kinds.items():
            pf = os.path.join(work, f"paths-{kind}.txt")
            with open(pf, "w") as f:
                f.write("\n".join(paths) + "\n")
            wrk(m.base + "/", max(1, secs // 4), connections=1, paths_file=pf, lua=lua)
            results[kind] = wrk(m.base + "/", secs, connections=1, paths_file=pf, lua=lua)
    finally:
        m.stop()
        if backend == "postgres":
            psql(f"DROP DATABASE IF EXISTS masthead_bench_{n} WITH (FORCE)")
    return results, gen_secs


def part_scale(binary, work, sizes, secs, backends):
    print("== Scale: uncached render latency by database size (no page cache, wrk -t1 -c1) ==")
    for backend in backends:
        runs = {}
        for n in sizes:
            runs[n], gen_secs = scale_run(binary, work, backend, n, secs)
            print(f"[{backend}] generated {n} articles in {gen_secs:.0f}s")
        small, big = sizes
        print(f"{backend:9} {'page':8} {f'p50@{small}':>10} {f'p99@{small}':>10} {f'p50@{big}':>10} "
              f"{f'p99@{big}':>10} {'p50 x':>6} {'p99 x':>6} {'req/s@big':>10}")
        for kind in ("article", "home", "section", "topic", "author", "rss", "search"):
            a, b = runs[small][kind], runs[big][kind]
            print(f"{'':9} {kind:8} {a['p50']:>10.2f} {a['p99']:>10.2f} {b['p50']:>10.2f} "
                  f"{b['p99']:>10.2f} {b['p50'] / a['p50']:>5.2f}x {b['p99'] / a['p99']:>5.2f}x {b['rps']:>10.0f}")
    print("(latencies in ms; p50 x = p50 at the big size / at the small; targets: home, section,")
    print(" topic, author p50 x <= 2.5, search p99 x <= 2)")
    print()


def main():
    global ROUNDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="two-second run with small sizes (CI)")
    ap.add_argument("--bin", default=os.environ.get("MASTHEAD_BIN"))
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-soak", action="store_true", help="no 10-minute soak")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--only", help="comma-separated parts to run: throughput, pages, churn, api, access, soak, scale")
    args = ap.parse_args()
    parts = set(args.only.split(",")) if args.only else {"throughput", "pages", "churn", "api", "access", "soak", "scale"}
    if args.skip_soak:
        parts.discard("soak")
    if args.skip_scale:
        parts.discard("scale")
    for tool in ("wrk", "nginx"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install wrk nginx-light)")
    binary = args.bin or ("target/debug/masthead" if args.smoke else "target/release/masthead")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} does not exist; build it first (cargo build --release)")
    work = tempfile.mkdtemp(prefix="masthead-bench-")
    # nginx workers run as an unprivileged user: let them read the page.
    os.chmod(work, 0o755)
    try:
        if args.smoke:
            ROUNDS = 1
        small = args.smoke
        if "throughput" in parts:
            part_throughput(binary, work, warm=1 if small else 5, secs=2 if small else 8)
        if "pages" in parts:
            part_pages(binary, work, warm=1 if small else 2, secs=1 if small else 5)
        if "churn" in parts:
            part_churn(binary, work, warm=1 if small else 2, secs=2 if small else 5)
        if "api" in parts:
            part_api(binary, work, warm=1 if small else 3, secs=2 if small else 6)
        if "access" in parts:
            part_access(binary, work, warm=1 if small else 3, secs=2 if small else 6)
        if "soak" in parts:
            part_soak(binary, work, *((6, 2) if small else (600, 30)))
        if "scale" in parts:
            sizes, secs = ((50, 200), 1) if small else ((1000, 100000), 10)
            part_scale(binary, work, sizes, secs, args.backends.split(","))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
