# Unicode names for a class, a method and a function.
def 计算(n):
    t = 0
    for i in range(n):
        t = (t + i) % 7919
    return t
class Ünïcode:
    def méthode(self):
        return 计算(1_500_000)
print(Ünïcode().méthode())
