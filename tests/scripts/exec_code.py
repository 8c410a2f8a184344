# Runs code made by compile()/exec() and eval(): 20 generated functions.
src = """
def generated_{n}(k):
    t = 0
    for i in range(k):
        t = (t + i) % 7919
    return t
"""
total = 0
for n in range(20):
    ns = {}
    exec(compile(src.format(n=n), f"generated_{n}.py", "exec"), ns)
    total += ns[f"generated_{n}"](100_000)
total += eval("sum(i * i for i in range(300_000))")
print("done")
