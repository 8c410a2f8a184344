# Every way multiprocessing starts children from sys.executable, with the start method
# named in argv[1]: Pool.map, ProcessPoolExecutor, a Queue between processes. The parent
# then burns some CPU in parent_work() so that a recorded profile shows it.
import concurrent.futures
import multiprocessing
import sys


def square(x):
    return x * x


def report(queue):
    queue.put((sys.argv[1:], sys.flags.dont_write_bytecode, __name__))


def parent_work():
    total = 0
    for i in range(1_500_000):
        total = (total + i) % 977
    return total


if __name__ == "__main__":
    method = sys.argv[1]
    context = multiprocessing.get_context(method)
    with context.Pool(2) as pool:
        print("pool", pool.map(square, range(6)), flush=True)
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as executor:
        print("executor", list(executor.map(square, range(4))), flush=True)
    queue = context.Queue()
    child = context.Process(target=report, args=(queue,))
    child.start()
    print("queue", queue.get(timeout=30), flush=True)
    child.join()
    print("child exit", child.exitcode, flush=True)
    parent_work()
