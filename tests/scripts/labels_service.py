"""A two-endpoint threaded HTTP service with labels: ThreadingHTTPServer from the standard
library, a handler that labels each request with its endpoint and tenant, and a client
that sends 3 `/cart` requests for each `/home` request. Both endpoints burn the same CPU per
request, so `/cart` should get 75% of the labelled samples.

    rpprof record -o service.pb.gz tests/scripts/labels_service.py [ROUNDS]
"""

import http.client
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import rpprof

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
WORK = 60_000


def burn(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def cart():
    return burn(WORK)


def home():
    return burn(WORK)


ROUTES = {"/cart": cart, "/home": home}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        route = ROUTES.get(self.path)
        if route is None:
            self.send_error(404)
            return
        tenant = self.headers.get("X-Tenant", "none")
        with rpprof.labels(endpoint=self.path, tenant=tenant):
            body = str(route()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def client(port, paths, tenant):
    connection = http.client.HTTPConnection("127.0.0.1", port)
    for path in paths:
        connection.request("GET", path, headers={"X-Tenant": tenant})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
    connection.close()


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    serving = threading.Thread(target=server.serve_forever, name="server")
    serving.start()
    clients = [
        threading.Thread(
            target=client,
            args=(port, ["/cart", "/cart", "/cart", "/home"] * (ROUNDS // 2), tenant),
            name=f"client-{tenant}",
        )
        for tenant in ("acme", "globex")
    ]
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    server.shutdown()
    serving.join()
    print("served", 4 * ROUNDS, "requests")


if __name__ == "__main__":
    main()
