"""Generators and asyncio: frames that suspend and resume.

A generator pipeline (read -> parse -> total) and a few asyncio tasks that alternate between
computing and awaiting. Suspended generator and coroutine frames are not on any stack, so
only the running part of a pipeline is sampled.

    rpprof record -o generators.svg examples/generators.py
"""

import asyncio
import sys


def read_records(count):
    for i in range(count):
        yield f"{i},{i * 7 % 13},{i % 5}"


def parse(lines):
    for line in lines:
        a, b, c = line.split(",")
        yield int(a) + int(b) * int(c)


def total(values):
    result = 0
    for value in values:
        result += value
    return result


async def worker(name, rounds, results):
    acc = 0
    for r in range(rounds):
        acc += sum(i * i for i in range(3_000))
        await asyncio.sleep(0)
    results[name] = acc


async def run_tasks(rounds):
    results = {}
    await asyncio.gather(*(worker(f"task-{i}", rounds, results) for i in range(3)))
    return results


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
    print(f"pipeline total: {total(parse(read_records(count)))}")
    results = asyncio.run(run_tasks(20))
    for name in sorted(results):
        print(f"{name}: {results[name]}")


if __name__ == "__main__":
    main()
