# Computes until killed; says "ready" first.
def work():
    t = 0
    for i in range(200_000):
        t = (t + i) % 7919
    return t


print("ready", flush=True)
while True:
    work()
