"""rpprof.labels from a program's side: nesting, restoring (also on exceptions), threads
starting without labels, the decorator, and the ValueErrors. Prints one line per check;
with `burn` given, also burns CPU inside nested blocks for a recording to show:
`outer_work` under endpoint=/a, `inner_work` under endpoint=/a and tenant=t1, and
`after_work` under endpoint=/a again."""

import sys
import threading

import rpprof


def burn(n):
    total = 0
    for i in range(n):
        total += i % 13
    return total


def outer_work(n):
    return burn(n)


def inner_work(n):
    return burn(n)


def after_work(n):
    return burn(n)


@rpprof.labels(job="decorated")
def decorated():
    return rpprof.current_labels()


def show(what):
    labels = rpprof.current_labels()
    print(what, ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-")


def checks():
    show("start")
    with rpprof.labels(endpoint="/a", tenant="t0"):
        show("outer")
        with rpprof.labels({"tenant": "t1", "http.route": "/a/{id}"}):
            show("inner")
            seen = []
            t = threading.Thread(target=lambda: seen.append(rpprof.current_labels()))
            t.start()
            t.join()
            print("new thread", seen[0] or "-")
        show("restored")
        try:
            with rpprof.labels(tenant="t2"):
                raise KeyError("boom")
        except KeyError:
            show("after exception")
    show("end")
    print("decorator", decorated(), decorated.__name__)
    show("after decorator")
    bad = [
        ("value not str", lambda: rpprof.labels(tenant=3)),
        ("reserved key", lambda: rpprof.labels(thread_name="x")),
        ("reserved task", lambda: rpprof.labels(task="x")),
        ("too many", lambda: rpprof.labels(**{f"k{i}": "v" for i in range(17)})),
        ("bad key", lambda: rpprof.labels({"a b": "v"})),
    ]
    for name, make in bad:
        try:
            make()
            print(name, "accepted")
        except ValueError as err:
            print(name, "ValueError:", err)
    with rpprof.labels(**{f"k{i}": "v" for i in range(10)}):
        try:
            with rpprof.labels(**{f"j{i}": "v" for i in range(10)}):
                print("nested too many accepted")
        except ValueError as err:
            print("nested too many ValueError:", err)
        print("kept", len(rpprof.current_labels()))


def burns(n):
    with rpprof.labels(endpoint="/a"):
        outer_work(n)
        with rpprof.labels(tenant="t1"):
            inner_work(n)
        after_work(n)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        burns(int(sys.argv[1]))
    else:
        checks()
