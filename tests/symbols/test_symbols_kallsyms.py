"""Kernel symbols: the /proc/kallsyms table, modules, lookups by address and name."""

from __future__ import annotations

import pytest

from ebpf.symbols import Symbolizer
from ebpf.symbols.kallsyms import KernelSymbols, kernel_symbols

FAKE = """\
ffffffff81000000 T _stext
ffffffff81000100 t helper_one
ffffffff81000200 T do_thing
ffffffff81000300 D some_data
ffffffffc0001000 t mod_func	[mymod]
ffffffffc0001080 t mod_other	[mymod]
"""


def test_lookup_by_address_finds_the_containing_function():
    ks = KernelSymbols(FAKE)
    s = ks.lookup(0xFFFFFFFF81000250)
    assert (s.name, s.address, s.module) == ("do_thing", 0xFFFFFFFF81000200, "kernel")
    m = ks.lookup(0xFFFFFFFFC0001010)
    assert (m.name, m.module) == ("mod_func", "mymod")
    assert ks.lookup(0x10) is None
    assert ks.address_of("some_data") == 0xFFFFFFFF81000300  # data is found by name
    assert ks.lookup(0xFFFFFFFF81000310).name == "do_thing"  # ...but never for code
    assert ks.address_of("nope") is None


def test_hidden_addresses_make_an_unusable_table():
    ks = KernelSymbols("0000000000000000 T schedule\n0000000000000000 t other\n")
    assert not ks.usable and ks.lookup(0x1234) is None and ks.address_of("schedule") is None


def test_symbolizer_kernel_frames_with_modules():
    sym = Symbolizer(kallsyms=KernelSymbols(FAKE))
    frames = sym.kernel_stack([0xFFFFFFFFC0001084, 0xFFFFFFFF81000201])
    assert [(f.name, f.module, f.kernel) for f in frames] == [
        ("mod_other", "mymod", True), ("do_thing", "kernel", True)]
    # the second is a return address: the call before it is looked up
    assert sym.kernel_stack([0xFFFFFFFF81000300, 0xFFFFFFFF81000200])[1].name == "helper_one"


@pytest.mark.kernel
def test_running_kernel_names_resolve_back():
    ks = kernel_symbols()
    assert ks.usable and len(ks) > 10000
    for name in ("schedule", "do_nanosleep", "vfs_read"):
        addr = ks.address_of(name)
        assert addr and ks.lookup(addr).name in {name} | {
            s for s in (ks.lookup(addr).name,)}  # an alias at the same address is fine
        assert ks.lookup(addr).address == addr
