"""A WSGI web service on the standard library: `wsgiref` with a thread per request, as
`http.server`, `wsgiref` and most development servers run. Two endpoints do different
work, so a profile shows where each request's time goes:

    /cart     prices a shopping cart      (price_cart)
    /search   scores a small catalogue    (score_catalogue)

    rpprof agent -- examples/wsgi_service.py 8000     # serve on 127.0.0.1:8000
    rpprof record -o web.svg examples/wsgi_service.py 0 5   # any free port, stop after 5 s

It prints `listening on PORT` once it accepts requests, and serves until killed (or for the
number of seconds given after the port).
"""

import json
import socketserver
import sys
import threading
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

CATALOGUE = [f"item-{i} blue red green {i % 7}" for i in range(400)]


def price_cart(items):
    total = 0
    for item in range(items):
        price = 100 + item
        for _ in range(400):
            price = (price * 31 + 7) % 10_007
        total += price
    return total


def score_catalogue(query):
    wanted = set(query.split())
    scores = []
    for entry in CATALOGUE:
        score = 0
        for word in entry.split():
            if word in wanted:
                score += len(word)
        for char in entry:
            score = (score * 33 + ord(char)) % 1_000_003
        scores.append((score, entry))
    scores.sort(reverse=True)
    return [entry for _, entry in scores[:5]]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/cart":
        body = {"total": price_cart(40)}
    elif path == "/search":
        body = {"hits": score_catalogue("blue green 3")}
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]
    data = json.dumps(body).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(data)))])
    return [data]


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else None
    server = make_server("127.0.0.1", port, app, ThreadingWSGIServer, QuietHandler)
    print(f"listening on {server.server_address[1]}", flush=True)
    if seconds is not None:
        threading.Timer(seconds, server.shutdown).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
