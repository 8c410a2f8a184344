"""A server thread that waits on a socket, then at once on a lock, then on the socket again,
each wait about WAIT seconds (argv[1], default 0.5), with no work in between: wall mode
should give each wait a third of the thread's time. The main thread paces the waits (sends
on a 127.0.0.1 connection, releases the lock)."""

import socket
import sys
import threading
import time

WAIT = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5

listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.bind(("127.0.0.1", 0))
listener.listen(1)
client = socket.create_connection(listener.getsockname())
conn, _ = listener.accept()
lock = threading.Lock()
lock.acquire()


def read_request():
    assert conn.recv(16) == b"1"


def wait_for_lock():
    lock.acquire()


def read_next_request():
    assert conn.recv(16) == b"2"


def serve():
    read_request()
    wait_for_lock()
    read_next_request()


server = threading.Thread(target=serve, name="server")
server.start()
time.sleep(WAIT)
client.sendall(b"1")
time.sleep(WAIT)
lock.release()
time.sleep(WAIT)
client.sendall(b"2")
server.join()
print("done")
