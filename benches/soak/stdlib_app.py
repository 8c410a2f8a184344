"""The soak benchmark's standard-library service (benches/soak/soak.py runs it):
`http.server.ThreadingHTTPServer`, a thread per connection, on 127.0.0.1, with the same
three routes as flask_app.py:

    /cpu   pure-Python CPU work (soak_work.cpu_work, about 3 ms on CPython)
    /page  an HTML table of 50 items built with string formatting (html.escape)
    /json  json.dumps of a dict of 50 entries

    python3 stdlib_app.py [PORT]     # PORT (or $SOAK_PORT) 0 or absent: any free port

Prints `listening on PORT` once it accepts connections; serves until SIGINT (or SIGTERM).
"""

import html
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from soak_work import ITEMS, cpu_work, json_payload

TOTAL = sum(item["price"] for item in ITEMS)
ROW = '<tr class="{cls}"><td>{id}</td><td>{name}</td><td>{price:.2f}</td><td>{tags}</td></tr>'


def render_page(title):
    rows = [ROW.format(cls="odd" if i % 2 == 0 else "even", id=item["id"],
                       name=html.escape(item["name"]), price=item["price"],
                       tags=html.escape(", ".join(item["tags"])))
            for i, item in enumerate(ITEMS)]
    return ("<!doctype html>\n<html><head><title>{t}</title></head>\n<body>\n<h1>{t}</h1>\n"
            "<table>\n<tr><th>id</th><th>name</th><th>price</th><th>tags</th></tr>\n{rows}\n"
            "</table>\n<p>{n} items, total {total:.2f}</p>\n</body></html>\n").format(
        t=html.escape(title), rows="\n".join(rows), n=len(ITEMS), total=TOTAL)


ROUTES = {
    "/cpu": lambda: ("application/json", json.dumps(cpu_work())),
    "/page": lambda: ("text/html; charset=utf-8", render_page("Soak page")),
    "/json": lambda: ("application/json", json.dumps(json_payload())),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        content_type, text = route()
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SOAK_PORT", "0"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
