"""The demangler: hand-picked C++ and Rust names, and c++filt's answers for the
C++ symbols of libstdc++ (a few thousand real names)."""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest

from ebpf.elf.host import HostELF
from ebpf.kernel.uprobe import resolve_binary
from ebpf.symbols import demangle

CASES = {
    "_Z3fooi": "foo(int)",
    "_ZN2ns3Foo3barEPKcRKSt6vectorIiSaIiEE":
        "ns::Foo::bar(char const*, std::vector<int, std::allocator<int> > const&)",
    "_ZNK2ns3Foo4sizeEv": "ns::Foo::size() const",
    "_ZN2ns3FooC2Ev": "ns::Foo::Foo()",
    "_ZN2ns3FooD1Ev": "ns::Foo::~Foo()",
    "_ZN12_GLOBAL__N_14workEv": "(anonymous namespace)::work()",
    "_Z5applyIiEvT_": "void apply<int>(int)",
    "_ZplRK1VS1_": "operator+(V const&, V const&)",
    "_ZN1A1fEv.cold": "A::f() [clone .cold]",
    "_ZTV3Foo": "vtable for Foo",
    "_Z1fPFviE": "f(void (*)(int))",
    # Rust legacy
    "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h0123456789abcdefE":
        "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>",
    "_ZN3std2rt10lang_start17h8d8c4a4b0a1c2f3eE": "std::rt::lang_start",
    # Rust v0
    "_RNvCs15kBYyAo9fc_7mycrate7example": "mycrate::example",
    "_RNvNtCs1234_7mycrate3foo3bar": "mycrate::foo::bar",
    "_RINvCs1234_4core4swaplEB2_": "core::swap::<i32>",
    "_RNvMCs1234_7mycrateNtB2_6Widget3new": "<mycrate::Widget>::new",
}


@pytest.mark.parametrize("mangled,plain", sorted(CASES.items()))
def test_known_names(mangled, plain):
    assert demangle(mangled) == plain


@pytest.mark.parametrize("name", ["main", "_Z", "_ZN3fooE_garbage", "_R", "_RNv", "_Z9",
                                  "_ZSt" + "I" * 500, "\x00", "_ZZ" * 400])
def test_bad_names_come_back_unchanged(name):
    assert demangle(name) == name


def test_agrees_with_cxxfilt_on_libstdcxx():
    cxxfilt = shutil.which("c++filt")
    if cxxfilt is None:
        pytest.fail("c++filt (binutils) is needed")
    lib = resolve_binary("stdc++")
    names = sorted({s.name for s in HostELF(lib).symbols() if s.name.startswith("_Z")})
    sample = random.Random(14).sample(names, min(2000, len(names)))
    ref = subprocess.run([cxxfilt], input="\n".join(sample), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    wrong = [(n, demangle(n), r) for n, r in zip(sample, ref, strict=True) if demangle(n) != r]
    assert len(wrong) <= len(sample) // 200, wrong[:5]  # at least 99.5 % identical
