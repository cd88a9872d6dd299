"""Importing the member register: ``sip members import`` of 100,000 members.

    .venv/bin/python bench/import_members.py [--members 100000] [--postgres]

Writes a CSV of ``--members`` members, times ``sip members import`` on a fresh database (the
whole command, as an operator runs it: start-up, checks, writes, progress bar), then imports
the same file again (nothing changes). The baseline, measured in the same run: the bare
minimum of the same work, Python's ``sqlite3`` reading the CSV and inserting the rows with
``executemany`` in one transaction into the same table of a fresh copy (no checks, no
progress). Prints both times and the ratio; the target is under 20 s for 100,000.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SIP, Platform, machine, platform_in_tmp  # noqa: E402

TARGET_SECONDS = 20.0


def write_csv(path: Path, members: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["member_number", "email", "name", "country", "language", "shareholder"])
        for n in range(members):
            country = "BE" if n % 3 else "FR"
            language = ("nl", "fr")[n % 2] if country == "BE" else "fr"
            writer.writerow(
                [f"M{n:07d}", f"member{n}@example.org", f"Member {n}", country, language, "yes"]
            )


def timed_import(target: Platform, csv_path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(SIP), "members", "import", str(csv_path)],
        env=target.env,
        cwd=target.folder,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def baseline(empty_database: Path, csv_path: Path) -> float:
    """Plain sqlite3: the same rows into the same (empty, migrated) table, one transaction."""
    started = time.perf_counter()
    with sqlite3.connect(empty_database, isolation_level=None) as conn:
        conn.execute("PRAGMA synchronous = FULL")
        with csv_path.open(newline="") as source:
            rows = [
                (r["member_number"], r["email"], r["name"], r["country"], r["language"], True)
                for r in csv.DictReader(source)
            ]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO member (member_number, email, name, country, language, shareholder, "
            "password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, NULL, datetime('now'))",
            rows,
        )
        conn.execute("COMMIT")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    print(f"Member import, {args.members:,} members; {machine()}")
    with platform_in_tmp(postgres=args.postgres) as target:
        csv_path = target.folder / "members.csv"
        write_csv(csv_path, args.members)
        subprocess.run([str(SIP), "db", "upgrade"], env=target.env, cwd=target.folder, check=True)
        base = None
        if not args.postgres:
            empty = target.folder / "baseline.sqlite3"
            shutil.copy(target.folder / "sip.sqlite3", empty)
            base = baseline(empty, csv_path)
        first = timed_import(target, csv_path)
        again = timed_import(target, csv_path)
    print(f"sip members import (new register)   {first:6.2f} s")
    print(f"sip members import (same file again) {again:6.2f} s")
    if base is not None:
        print(
            f"baseline: sqlite3 executemany       {base:6.2f} s  (import takes {first / base:.1f}x)"
        )
    met = first < TARGET_SECONDS * args.members / 100_000
    print(f"  {'met    ' if met else 'NOT MET'}  under {TARGET_SECONDS:.0f} s per 100,000 members")
    return 0


if __name__ == "__main__":
    sys.exit(main())
