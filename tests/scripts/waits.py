"""Threads that each block in one kind of call for about SECONDS (argv[1], default 2),
for wall-mode tests of wait naming: a lock waiter, a `with lock` waiter, a sleeper, a
socket reader (a TCP server on 127.0.0.1), a select() caller, a pipe reader and a joiner."""

import os
import select
import socket
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0

lock = threading.Lock()
lock.acquire()
with_lock = threading.Lock()
with_lock.acquire()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]
client = socket.create_connection(("127.0.0.1", port))
conn, _ = server.accept()

wake_r, wake_w = os.pipe()
pipe_r, pipe_w = os.pipe()


def lock_waiter():
    lock.acquire()
    lock.release()


def with_waiter():
    with with_lock:
        pass


def sleeper():
    time.sleep(SECONDS)


def socket_reader():
    data = conn.recv(1024)
    assert data == b"go"


def selector():
    ready, _, _ = select.select([wake_r], [], [], SECONDS * 3)
    assert ready


def pipe_reader():
    with os.fdopen(pipe_r, "rb") as f:
        data = f.read(2)
    assert data == b"go"


def joined():
    time.sleep(SECONDS)


waiters = [lock_waiter, with_waiter, sleeper, socket_reader, selector, pipe_reader]
threads = [threading.Thread(target=f, name=f.__name__) for f in waiters]
target = threading.Thread(target=joined, name="joined")


def joiner():
    target.join()


threads.append(threading.Thread(target=joiner, name="joiner"))
target.start()
for t in threads:
    t.start()
time.sleep(SECONDS)
lock.release()
with_lock.release()
client.sendall(b"go")
os.write(wake_w, b"x")
os.write(pipe_w, b"go")
for t in threads + [target]:
    t.join()
print("done")
