"""Newsletter sending benchmark (loopback only).

Postfix's smtp-sink accepts and discards mail on a loopback port. In the
same run, with the same number of parallel SMTP sessions and messages of
the same size:

  1. smtp-source (Postfix's load generator) sends N messages to the sink:
     the sink's own ceiling on this machine;
  2. `masthead newsletters send` sends one article to N recipients of a
     newsletter to the same sink: fixing the recipients in the database,
     rendering both segments once, claiming batches, one SMTP message per
     recipient.

Prints messages per second for both, the ratio, and Masthead's peak
resident memory. Targets (issue 5): ratio >= 0.5, peak memory <= 100 MB at
100,000 recipients.
"""

import argparse
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

NEWSLETTER = "morning-ledger"
ARTICLE = "bus-redesign-winners-and-losers"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def tool(name):
    for d in ("/usr/sbin", "/usr/bin", "/usr/local/sbin"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise SystemExit(f"{name} not found: apt-get install postfix (leave its daemon stopped)")


def seed(binary, data, count):
    """The demo publication, then `count` members opted in to NEWSLETTER."""
    env = dict(os.environ, MASTHEAD_LOG="warn")
    env.pop("MASTHEAD_SMTP_URL", None)
    port = free_port()
    serve = subprocess.Popen([binary, "--data-dir", data, "serve", "--demo", "--listen", f"127.0.0.1:{port}"],
                             cwd=data, env=env)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                break
        except Exception:
            if time.monotonic() > deadline or serve.poll() is not None:
                serve.kill()
                raise SystemExit("the demo server did not start")
            time.sleep(0.2)
    serve.send_signal(signal.SIGTERM)
    serve.wait(timeout=30)
    subprocess.run([binary, "--data-dir", data, "generate", "--members", str(count), "--newsletter", NEWSLETTER],
                   cwd=data, env=env, check=True, stdout=subprocess.DEVNULL)
    # One more reader on another newsletter, to measure a message's size.
    subprocess.run([binary, "--data-dir", data, "generate", "--members", "1", "--newsletter", "tideline"],
                   cwd=data, env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([binary, "--data-dir", data, "newsletters", "send", "tideline", "--article", ARTICLE],
                   cwd=data, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    files = glob.glob(os.path.join(data, "outbox", "newsletter-*.eml"))
    if not files:
        raise SystemExit("the size probe wrote no message")
    return os.path.getsize(files[0])


def run_masthead(binary, data, port, sessions):
    config = os.path.join(data, "bench.toml")
    with open(config, "w") as f:
        f.write(f'smtp_url = "smtp://127.0.0.1:{port}"\n[newsletters]\nsessions = {sessions}\nbatch = 200\n')
    env = dict(os.environ, MASTHEAD_LOG="warn")
    env.pop("MASTHEAD_SMTP_URL", None)
    # A small wrapper process whose only child is masthead, so its
    # RUSAGE_CHILDREN peak is masthead's own.
    rss_file = os.path.join(data, "peak-rss-kb")
    wrapper = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[2:])\n"
               "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
               "sys.exit(r.returncode)\n")
    start = time.monotonic()
    p = subprocess.run([sys.executable, "-c", wrapper, rss_file, binary, "--config", config, "--data-dir", data,
                        "newsletters", "send", NEWSLETTER, "--article", ARTICLE],
                       cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - start
    if p.returncode != 0:
        raise SystemExit(f"masthead failed:\n{p.stdout}\n{p.stderr[-2000:]}")
    with open(rss_file) as f:
        peak_kb = int(f.read())
    return elapsed, peak_kb / 1024.0, p.stdout.strip().splitlines()[-1]


def run_source(port, sessions, count, size):
    start = time.monotonic()
    subprocess.run([tool("smtp-source"), "-s", str(sessions), "-m", str(count), "-l", str(size),
                    "-f", "newsletters@bench.example", "-t", "reader@bench.example", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("MASTHEAD_BIN"))
    ap.add_argument("--recipients", type=int, default=100_000)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--smoke", action="store_true", help="2,000 recipients with the debug binary (CI)")
    args = ap.parse_args()
    if args.smoke:
        args.recipients = 2_000
    binary = os.path.abspath(args.bin or ("target/debug/masthead" if args.smoke else "target/release/masthead"))
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} does not exist; build it first (cargo build --release)")
    sink_port = free_port()
    sink_cmd = [tool("smtp-sink")]
    if os.geteuid() == 0:
        sink_cmd += ["-u", "nobody"]
    sink = subprocess.Popen(sink_cmd + [f"127.0.0.1:{sink_port}", "1024"], stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="masthead-nl-bench-")
    try:
        wait_port(sink_port)
        print(f"seeding {args.recipients:,} recipients …", flush=True)
        size = seed(binary, work, args.recipients)
        print(f"message size {size:,} bytes; {args.sessions} parallel SMTP sessions; sink smtp-sink", flush=True)
        m_secs, peak_mb, summary = run_masthead(binary, work, sink_port, args.sessions)
        s_secs = run_source(sink_port, args.sessions, args.recipients, size)
        m_rate = args.recipients / m_secs
        s_rate = args.recipients / s_secs
        ratio = m_rate / s_rate
        print()
        print(f"{'sender':<34}{'messages':>10}{'seconds':>10}{'msg/s':>10}")
        print(f"{'smtp-source (sink ceiling)':<34}{args.recipients:>10,}{s_secs:>10.2f}{s_rate:>10.0f}")
        print(f"{'masthead newsletters send':<34}{args.recipients:>10,}{m_secs:>10.2f}{m_rate:>10.0f}")
        print()
        print(f"ratio masthead / smtp-source: {ratio:.2f} (target >= 0.5)")
        print(f"masthead peak resident memory: {peak_mb:.1f} MB (target <= 100 MB)")
        print(f"masthead said: {summary}")
        if args.smoke:
            expected = f"{args.recipients} sent, 0 failed"
            if expected not in summary:
                raise SystemExit(f"smoke run: expected '{expected}'")
    finally:
        sink.send_signal(signal.SIGTERM)
        try:
            sink.wait(timeout=5)
        except subprocess.TimeoutExpired:
            sink.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
