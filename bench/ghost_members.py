#!/usr/bin/env python3
"""Ghost members import benchmark (issue 14; no network).

Generates a one-post Ghost export with one newsletter marked subscribe on
sign-up, and Ghost members CSVs of SMALL and LARGE rows (every third
member takes email, every fiftieth is complimentary). In the same run, on
fresh SQLite data directories, times

    masthead import --from ghost export.json --members members.csv

for each size, then the large import again (every member found again by
its Ghost id, nothing new). Prints members per second, peak resident
memory, and the ratio large / small time (target: <= 12 × for 10 × the
rows, i.e. no quadratic step). Default sizes 10,000 and 100,000; --smoke
runs 1,000 and 10,000 (CI).

    cargo build --release && python3 bench/ghost_members.py [--small N] [--smoke] [--bin PATH]
"""
import argparse
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from wordpress_import import timed  # noqa: E402


def export(path):
    data = {
        "posts": [{"id": "65b1f0c2a4e9d30001009999", "title": "Bench", "slug": "ghost-bench",
                   "html": "<p>One post.</p>", "type": "post", "status": "published",
                   "visibility": "public", "published_at": "2024-01-01T00:00:00.000Z"}],
        "newsletters": [{"id": "nb1", "name": "Bench Daily", "slug": "bench-daily",
                         "status": "active", "subscribe_on_signup": True}],
    }
    with open(path, "w") as f:
        json.dump({"db": [{"meta": {"version": "5.82.2"}, "data": data}]}, f)


def members(path, n):
    with open(path, "w") as f:
        f.write("id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\n")
        for i in range(n):
            f.write(f"{i:024x},reader{i}@bench.example,Reader {i},,{'true' if i % 3 == 0 else 'false'},"
                    f"{'true' if i % 50 == 0 else 'false'},,2023-01-01T00:00:00.000Z,,,\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--smoke", action="store_true", help="a small run (CI)")
    ap.add_argument("--bin", default="target/release/masthead")
    args = ap.parse_args()
    small = 1_000 if args.smoke else args.small
    large = 10 * small
    work = tempfile.mkdtemp(prefix="masthead-ghost-members-")
    ex = os.path.join(work, "export.json")
    export(ex)
    results = {}
    for n in (small, large):
        csv = os.path.join(work, f"members-{n}.csv")
        members(csv, n)
        data = tempfile.mkdtemp(prefix="data-", dir=work)
        cmd = [args.bin, "--data-dir", data, "import", "--from", "ghost", ex, "--members", csv]
        t, rss, out = timed(cmd)
        m = re.search(r"members: (\d+) rows, (\d+) created", out)
        if not m or int(m.group(2)) != n:
            sys.exit(f"the import of {n} members did not create them all:\n{out}")
        results[n] = (t, rss)
        print(f"{n} members: {t:.2f} s, {n / t:.0f} members/s, peak {rss:.1f} MB", flush=True)
        if n == large:
            t2, rss2, out2 = timed(cmd)
            m2 = re.search(r"members: (\d+) rows, 0 created, (\d+) existing", out2)
            if not m2 or int(m2.group(2)) != n:
                sys.exit(f"the second import of {n} members was not a no-op:\n{out2}")
            print(f"{n} members again (all found, nothing new): {t2:.2f} s, peak {rss2:.1f} MB")
    ratio = results[large][0] / results[small][0]
    print(f"ratio {large} / {small} (time, 10x the rows): {ratio:.2f} (target <= 12)")
    if ratio > 12:
        print("FAIL: the member import grows faster than linearly")
        sys.exit(1)


if __name__ == "__main__":
    main()
