"""What werkzeug's server does at the end of every request (`rfile.read(10_000_000)`, which
allocates a zeroed 10 MB buffer and a 10 MB scratch for the socket read), done by many
threads, a few at a time. Prints the process's RSS.

Usage: big_buffers.py [ROUNDS [THREADS]]. Prints `rss_after_first_round_kb N` and
`rss_end_kb N`.
"""

import sys
import threading

from resident import rss_kb

SIZE = 10_000_000


def request(sizes):
    buffer = bytearray(SIZE)
    buffer[0] = 1
    sizes.append(len(buffer))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    at_once = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    sizes = []
    for i in range(rounds):
        threads = [threading.Thread(target=request, args=(sizes,)) for _ in range(at_once)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if i == 0:
            print("rss_after_first_round_kb", rss_kb(), flush=True)
    print("rss_end_kb", rss_kb(), flush=True)
    print("buffers", len(sizes), flush=True)


main()
