"""TLS contexts report the minimum version CPython's do (TLS 1.2; rustls, under rpprof's
`ssl`, speaks nothing older), and it can still be raised. Exits 1 with a message on the
first difference; prints `ok` otherwise."""

import importlib.util
import sys

# Asking whether ssl is there (as optional-dependency checks do) before importing it.
if importlib.util.find_spec("ssl") is None:
    print("FAIL: no ssl module")
    sys.exit(1)
import ssl  # noqa: E402


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


contexts = {
    "create_default_context()": ssl.create_default_context(),
    "create_default_context(CLIENT_AUTH)": ssl.create_default_context(ssl.Purpose.CLIENT_AUTH),
    "SSLContext(PROTOCOL_TLS_CLIENT)": ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
    "SSLContext(PROTOCOL_TLS_SERVER)": ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER),
    "_create_unverified_context()": ssl._create_unverified_context(),
}
for what, context in contexts.items():
    if context.minimum_version != ssl.TLSVersion.TLSv1_2:
        fail(f"{what}.minimum_version is {context.minimum_version!r}, CPython says TLSv1_2")
    if context.maximum_version != ssl.TLSVersion.MAXIMUM_SUPPORTED:
        fail(f"{what}.maximum_version is {context.maximum_version!r}")
context = ssl.create_default_context()
context.minimum_version = ssl.TLSVersion.TLSv1_3
if context.minimum_version != ssl.TLSVersion.TLSv1_3:
    fail("the minimum version cannot be raised")


class Subclass(ssl.SSLContext):
    pass


if Subclass(ssl.PROTOCOL_TLS_CLIENT).minimum_version != ssl.TLSVersion.TLSv1_2:
    fail("a subclass of SSLContext differs")
print("ok")
