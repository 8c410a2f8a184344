"""The soak benchmark's Flask service (benches/soak/soak.py runs it): werkzeug's threaded
development server, a thread per connection, on 127.0.0.1.

    /cpu   pure-Python CPU work (soak_work.cpu_work, about 3 ms on CPython)
    /page  templates/page.html rendered by Jinja2, a loop over 50 items (autoescaped)
    /json  jsonify of a dict of 50 entries

    python3 flask_app.py [PORT]      # PORT (or $SOAK_PORT) 0 or absent: any free port

Flask must be importable (soak.py puts benches/soak/.deps on PYTHONPATH). Prints
`listening on PORT` once it accepts connections; serves until SIGINT (or SIGTERM).
"""

import logging
import os
import signal
import sys

from flask import Flask, jsonify, render_template
from werkzeug.serving import make_server

from soak_work import ITEMS, cpu_work, json_payload

app = Flask(__name__)
TOTAL = sum(item["price"] for item in ITEMS)


@app.route("/cpu")
def cpu():
    return jsonify(cpu_work())


@app.route("/page")
def page():
    return render_template("page.html", title="Soak page", items=ITEMS, total=TOTAL)


@app.route("/json")
def json_route():
    return jsonify(json_payload())


def main():
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("SOAK_PORT", "0"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    # SIGTERM ends the server as Ctrl-C does (KeyboardInterrupt in serve_forever).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"listening on {server.port}", flush=True)
    server.serve_forever()  # returns (and closes) on KeyboardInterrupt


if __name__ == "__main__":
    main()
