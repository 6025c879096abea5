"""LPM_TRIE: longest prefix match."""

from __future__ import annotations

import errno

from ...spec import MapSpec
from .hashes import HashMap


# ---------------------------------------------------------------------------
# LPM trie
# ---------------------------------------------------------------------------
class LpmTrieMap(HashMap):
    """LPM_TRIE: key = u32 prefix length + data; lookups find the longest
    stored prefix that matches."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.max_bits = (spec.key_size - 4) * 8

    def _norm(self, key: bytes) -> bytes | None:
        plen = int.from_bytes(key[:4], "little")
        if plen > self.max_bits:
            return None
        data = int.from_bytes(key[4:], "big")
        masked = data >> (self.max_bits - plen) << (self.max_bits - plen) if plen else 0
        return key[:4] + masked.to_bytes(self.key_size - 4, "big")

    def _match(self, key: bytes) -> bytes | None:
        plen = min(int.from_bytes(key[:4], "little"), self.max_bits)
        data = int.from_bytes(key[4:], "big")
        nbytes = self.key_size - 4
        for p in range(plen, -1, -1):
            shift = self.max_bits - p
            k = p.to_bytes(4, "little") + ((data >> shift << shift) if p else 0).to_bytes(nbytes,
                                                                                          "big")
            if k in self.entries:
                return k
        return None

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        k = self._match(key)
        return 0 if k is None else self._addr(self.entries[k], 0)

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super().prog_update(k, value, flags, cpu)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super()._user_update(k, value, flags)

    def prog_delete(self, key: bytes) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super().prog_delete(k)

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        k = self._match(key)
        return None if k is None else self._value(self.entries[k], 0)
