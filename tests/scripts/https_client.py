"""Fetches https://HOST:PORT/ over TLS, trusting only the given CA file, and prints the
status and body; then shows that the same server is refused without that CA."""

import ssl
import sys
import urllib.error
import urllib.request

port, cafile = sys.argv[1], sys.argv[2]


def fetch(host, context):
    url = f"https://{host}:{port}/"
    with urllib.request.urlopen(url, context=context, timeout=30) as response:
        return response.status, response.read().decode()


def main():
    trusting = ssl.create_default_context(cafile=cafile)
    for host in ("localhost", "127.0.0.1"):
        status, body = fetch(host, trusting)
        print(host, status, body, end="")
    try:
        fetch("localhost", ssl.create_default_context())
        print("untrusted: accepted")
    except urllib.error.URLError as error:
        print("untrusted:", type(error.reason).__name__)


main()
