"""The Merkle tree of checkpoints (RFC 9162): paths built level by level, or from one chunk and the
chunk roots, are exactly the RFC's, and its verification accepts them and nothing else."""
import hashlib

import pytest

from portal.consent.verify import (CHUNK, chunk_roots, chunked_path, included, inclusion_paths, merkle_root,
                                   root_of_chunks)


def _rfc_root(leaves: list[bytes]) -> bytes:
    """MTH of RFC 9162 section 2.1.1, by its recursive definition."""
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc_root(leaves[:k]) + _rfc_root(leaves[k:])).digest()


def _rfc_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH of RFC 9162 section 2.1.3.1, by its recursive definition."""
    if len(leaves) <= 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if index < k:
        return _rfc_path(index, leaves[:k]) + [_rfc_root(leaves[k:])]
    return _rfc_path(index - k, leaves[k:]) + [_rfc_root(leaves[:k])]


def _entries(n: int) -> list[str]:
    return [hashlib.sha256(str(i).encode()).hexdigest() for i in range(n)]


def _leaves(entries: list[str]) -> list[bytes]:
    return [hashlib.sha256(b"\x00" + bytes.fromhex(e)).digest() for e in entries]


@pytest.mark.parametrize("size", list(range(1, 40)) + [63, 64, 65, 100])
def test_level_by_level_paths_and_roots_are_the_rfcs(size):
    entries = _entries(size)
    leaves = _leaves(entries)
    root = merkle_root(entries)
    assert root == _rfc_root(leaves).hex()
    paths = inclusion_paths(entries, range(size))
    for index in range(size):
        assert paths[index] == [p.hex() for p in _rfc_path(index, leaves)]
        assert included(entries[index], index, size, paths[index], root)
        assert not included(entries[index], (index + 1) % size, size, paths[index], root) or size == 1


def test_a_path_from_one_chunk_and_the_chunk_roots_is_the_whole_trees():
    entries = _entries(2 * CHUNK + 300)
    roots = chunk_roots(entries)
    assert len(roots) == 3 and root_of_chunks(roots) == merkle_root(entries)
    leaves = _leaves(entries)
    for index in (0, 5, CHUNK - 1, CHUNK, CHUNK + 777, 2 * CHUNK, 2 * CHUNK + 299):
        number, offset = divmod(index, CHUNK)
        path = chunked_path(offset, entries[number * CHUNK:(number + 1) * CHUNK], number, roots)
        assert path == [p.hex() for p in _rfc_path(index, leaves)]
        assert included(entries[index], index, len(entries), path, merkle_root(entries))
