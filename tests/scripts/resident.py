"""The process's resident memory, for the test scripts that measure growth (imported from
the script's own directory, which is first on `sys.path`)."""


def rss_kb():
    """VmRSS of this process, in KiB (0 where /proc says nothing)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
