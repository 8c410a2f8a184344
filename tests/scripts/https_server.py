"""A one-file HTTPS server on 127.0.0.1 for the TLS test: prints its port, then serves
GET requests with a fixed body until it is killed or stdin closes."""

import http.server
import ssl
import sys
import threading

cert, key = sys.argv[1], sys.argv[2]
BODY = b"hello over tls\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
# The test holds our stdin open; when it closes (the test ended, or died), we stop.
sys.stdin.read()
server.shutdown()
