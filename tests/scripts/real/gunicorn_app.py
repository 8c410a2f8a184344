"""A WSGI app for gunicorn: each request computes a sum of squares and answers it."""


def work(n):
    return sum(i * i for i in range(n))


def app(environ, start_response):
    body = f"{work(20000)}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
