"""A thread-per-request HTTP service with a leak, for README's "Finding a leak in a
service": every request to /report renders a report and keeps it in a module-level cache
that nothing ever empties (a per-request key, so it only grows); /health allocates as much
and keeps nothing. Usage: leaky_service.py [PORT] (default 8000; 0 picks a free port).
Prints `listening on PORT`."""

import http.server
import json
import sys

REPORTS = {}


def render(request_id):
    rows = [{"row": i, "value": i * 7, "label": f"item {i}"} for i in range(200)]
    return json.dumps({"request": request_id, "rows": rows}).encode()


def remember(request_id, body):
    REPORTS[request_id] = body


class Handler(http.server.BaseHTTPRequestHandler):
    counter = 0

    def do_GET(self):
        Handler.counter += 1
        body = render(Handler.counter)
        if self.path.startswith("/report"):
            remember(Handler.counter, body)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("listening on", server.server_address[1], flush=True)
server.serve_forever()
