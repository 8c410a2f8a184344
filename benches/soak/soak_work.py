"""The work behind the soak services' three routes, shared by flask_app.py and
stdlib_app.py so both servers do the same thing per request:

    /cpu   cpu_work(): pure-Python arithmetic, dict and string work (about 3 ms on CPython 3.11)
    /page  ITEMS: 50 rows for an HTML table (names that need escaping)
    /json  json_payload(): a dict of 50 entries
"""

ITEMS = [
    {"id": i, "name": f"Item {i} <{'ab'[i % 2]}> & co", "price": round(1.5 + i * 0.37, 2),
     "tags": ["red", "green", "blue"][: 1 + i % 3]}
    for i in range(50)
]


def cpu_work(rounds=1500):
    """Some interpreter-bound work: a checksum loop, dict counting, string building."""
    counts = {}
    total = 0
    for i in range(rounds):
        key = "k" + str(i % 37)
        counts[key] = counts.get(key, 0) + 1
        for j in range(20):
            total = (total * 31 + i * j + 7) % 1_000_003
    words = sorted(counts, key=counts.get)
    return {"total": total, "keys": len(counts), "first": words[0], "text": ",".join(words)[:40]}


def json_payload():
    return {f"entry-{i}": {"id": i, "price": item["price"], "in_stock": i % 3 != 0}
            for i, item in enumerate(ITEMS)}
