"""A subclass of property that defines __get__ (as werkzeug's cached_property does) must
have its __get__ called on every access, however hot the access: RustPython 0.6.0 calls
the getter directly from the third access on unless rpprof's compat layer steps in.
Exits 1 with a message on the first thing that is wrong; prints `ok` otherwise."""

import abc
import sys

calls = {}


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


class cached(property):
    """Computes once per object, then answers from the object's __dict__."""

    def __init__(self, fget, name=None):
        super().__init__(fget)
        self.attr = name or fget.__name__

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        if self.attr not in obj.__dict__:
            obj.__dict__[self.attr] = self.fget(obj)
        return obj.__dict__[self.attr]


class counted(cached):
    """A subclass of a subclass, with no __init__ of its own."""


class logged(property):
    """Defines __get__ and defers to property's own."""

    def __get__(self, obj, objtype=None):
        calls["logged"] = calls.get("logged", 0) + 1
        return super().__get__(obj, objtype)


class Service:
    @cached
    def environment(self):
        """Made once."""
        calls["environment"] = calls.get("environment", 0) + 1
        return object()

    @counted
    def config(self):
        calls["config"] = calls.get("config", 0) + 1
        return {}

    @logged
    def value(self):
        return 42

    @value.setter
    def value(self, new):
        self.__dict__["set"] = new

    @property
    def plain(self):
        calls["plain"] = calls.get("plain", 0) + 1
        return 1


def hot(service):
    return service.environment, service.config, service.value, service.plain


service = Service()
first = service.environment
for _ in range(50):
    env, _config, value, _plain = hot(service)
    if env is not first:
        fail("cached.__get__ was skipped: a new value on a hot access")
    if value != 42:
        fail(f"logged property read {value}")
if calls["environment"] != 1 or calls["config"] != 1:
    fail(f"getters ran {calls['environment']} and {calls['config']} times, not once")
if calls["logged"] != 50:
    fail(f"logged.__get__ ran {calls['logged']} times, not 50")
if calls["plain"] != 50:
    fail(f"a plain property's getter ran {calls['plain']} times, not 50")

# The setter made by `@value.setter` works, and the getter still looks like the function.
service.value = 7
if service.__dict__.get("set") != 7:
    fail("the setter of a property subclass did not run")
getter = Service.__dict__["environment"].fget
if getter.__name__ != "environment" or getter.__doc__ != "Made once.":
    fail(f"the getter's name and doc changed: {getter.__name__!r}, {getter.__doc__!r}")
if getter.__qualname__ != "Service.environment":
    fail(f"the getter's qualname changed: {getter.__qualname__!r}")


# Abstract properties keep their abstractness through the wrapper.
class Base(abc.ABC):
    @cached
    @abc.abstractmethod
    def shape(self): ...


try:
    Base()
    fail("an abstract cached property did not make its class abstract")
except TypeError:
    pass


# A keyword fget, and a subclass whose __init__ takes other arguments first.
class named(cached):
    def __init__(self, label, fget):
        super().__init__(fget, name=label)


def counting(name, value):
    def get(self):
        calls[name] = calls.get(name, 0) + 1
        return value

    return get


class Other:
    size = cached(fget=counting("size", 3), name="size")
    label = named("label", counting("label", 4))


other = Other()
for _ in range(20):
    if other.size != 3 or other.label != 4:
        fail("keyword or second-argument getters read wrong")
if calls["size"] != 1 or calls["label"] != 1:
    fail(f"keyword/second-argument getters ran {calls['size']}, {calls['label']} times")
print("ok")
