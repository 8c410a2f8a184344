"""Three named threads share one CPU-bound inner loop in known proportions.

`resize-worker` does 6 units of work, `encode-worker` 3 and `index-worker` 1, each times
SCALE (default 20, a couple of CPU-seconds in all), so a CPU profile should give them about
60%, 30% and 10% of the samples, each under its own thread name. The main thread only
starts and joins them.

    rpprof record -o profile.svg examples/threads.py
    rpprof record -o profile.svg examples/threads.py 80     # four times the work
"""

import sys
import threading

UNIT = 40_000  # loop iterations in one unit of work


def checksum(iterations):
    """The shared inner loop: integer arithmetic, no allocation to speak of."""
    total = 0
    for i in range(iterations):
        total = (total * 31 + i) % 1_000_003
    return total


def resize_images(units):
    return checksum(units * UNIT)


def encode_video(units):
    return checksum(units * UNIT)


def build_index(units):
    return checksum(units * UNIT)


def main():
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    jobs = [
        ("resize-worker", resize_images, 6 * scale),
        ("encode-worker", encode_video, 3 * scale),
        ("index-worker", build_index, 1 * scale),
    ]
    results = {}

    def run(name, work, units):
        results[name] = work(units)

    threads = [
        threading.Thread(target=run, name=name, args=(name, work, units))
        for name, work, units in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name, _, units in jobs:
        print(f"{name}: {units} units, checksum {results[name]}")


if __name__ == "__main__":
    main()
