"""bpf_send_signal and bpf_send_signal_thread."""

from __future__ import annotations

import errno
import os
import threading

from ...uapi import HelperId as H
from ..run import Run
from .table import helper, log, neg


# ---- signals, user memory, ECN ---------------------------------------------------------
def _send_signal(sig: int, thread: bool) -> int:
    import signal

    sig &= 0xFFFF_FFFF
    if not 0 < sig <= signal.SIGRTMAX:
        return neg(errno.EINVAL)
    if os.getpid() == 1:
        return neg(errno.EPERM)  # the kernel never signals init
    if threading.current_thread() is not threading.main_thread():
        # a run on a background thread (a hook's timer, a packet feeder) is
        # not the host's own work: as the kernel refuses to signal its own
        # worker threads, nothing is delivered and the program sees -EPERM
        log.warning("bpf_send_signal(%d) from background thread %s: not delivered to the "
                    "host process", sig, threading.current_thread().name)
        return neg(errno.EPERM)
    # The "current process" is the Python process hosting the runtime. Deliver
    # only signals it handles (a Python handler) or ignores; one whose default
    # action would kill or stop the host is not delivered, only logged, so a
    # program under test can never take the interpreter down.
    try:
        disposition = signal.getsignal(sig)
    except ValueError:  # a number Python cannot name (e.g. glibc-reserved RT)
        disposition = None
    if disposition is signal.SIG_IGN:
        return 0
    if not callable(disposition) or disposition is signal.default_int_handler:
        # default_int_handler (SIGINT's default in Python) raises KeyboardInterrupt
        # in the main thread, whatever it is doing: it ends the host's work too
        log.warning("bpf_send_signal(%d): not delivered to the host process "
                    "(no Python handler of its own; its default action would end, "
                    "interrupt or stop it)", sig)
        return 0
    if thread:
        signal.pthread_kill(threading.get_ident(), sig)
    else:
        os.kill(os.getpid(), sig)
    return 0


@helper(H.send_signal)
def send_signal(run: Run, sig, *_):
    """Send ``sig`` to the current process: the one running the program, as
    the kernel does in a test run."""
    return _send_signal(sig, thread=False)


@helper(H.send_signal_thread)
def send_signal_thread(run: Run, sig, *_):
    """Send ``sig`` to the current thread."""
    return _send_signal(sig, thread=True)
