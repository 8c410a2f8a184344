"""Four threads, each with its own connection to one SQLite file, insert and query;
the main thread checks the totals."""

import os
import sqlite3
import sys
import threading

path = sys.argv[1]
THREADS, ROWS, ROUNDS = 4, 5000, 500


def setup():
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE IF NOT EXISTS items (worker INTEGER, n INTEGER, name TEXT)")


def insert_rows(db, worker):
    with db:
        db.executemany(
            "INSERT INTO items VALUES (?, ?, ?)",
            ((worker, n, f"item-{worker}-{n}") for n in range(ROWS)),
        )


def query_rows(db, worker):
    total = 0
    for _ in range(ROUNDS):
        (count, sum_n) = db.execute(
            "SELECT COUNT(*), SUM(n) FROM items WHERE worker = ? AND name LIKE 'item-%'",
            (worker,),
        ).fetchone()
        total += count
    return total, sum_n


def worker(index, results):
    db = sqlite3.connect(path, timeout=60)
    insert_rows(db, index)
    results[index] = query_rows(db, index)
    db.close()


setup()
results = {}
threads = [
    threading.Thread(target=worker, args=(i, results), name=f"db-{i}") for i in range(THREADS)
]
for t in threads:
    t.start()
for t in threads:
    t.join()
expected = (ROUNDS * ROWS, ROWS * (ROWS - 1) // 2)
assert all(results[i] == expected for i in range(THREADS)), results
with sqlite3.connect(path) as db:
    print("rows", db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
print("threads ok", len(results), os.path.basename(path))
