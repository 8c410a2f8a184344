# Writes a module into a directory whose name is not UTF-8 (under argv[1]) and imports it:
# the module's co_filename then holds a lone surrogate.
import os
import sys

directory = os.path.join(sys.argv[1], os.fsdecode(b"mods\xff"))
os.makedirs(directory, exist_ok=True)
with open(os.path.join(directory, "surrogate_mod.py"), "w") as f:
    f.write("def spin():\n    t = 0\n    for i in range(1_500_000):\n        t = (t + i) % 7919\n    return t\n")
sys.path.insert(0, directory)
import surrogate_mod

print(surrogate_mod.spin())
