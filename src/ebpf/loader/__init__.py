"""What every backend does before its first syscall, once for all backends.

:mod:`.kconfig` the values of ``.kconfig`` externs.
"""
