"""RFC 9162 tree: the transparency-dev vectors, the RFC 6962 reference leaves, and properties."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sendx.exchange.log.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    ProofError,
    append_leaf_hashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    subtree_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from sendx.validators.errors import InputError

# RFC 6962 reference leaves and roots (certificate-transparency merkle_tree_test; also the
# generator input of the transparency-dev vectors).
REFERENCE_LEAVES = [
    bytes.fromhex(x)
    for x in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
]
REFERENCE_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _vectors(shared_dir: Path, kind: str) -> list[tuple[Path, dict]]:
    folder = shared_dir / "tlog" / "transparency-dev-merkle" / kind
    files = sorted(folder.rglob("*.json"))
    return [(f, json.loads(f.read_text())) for f in files]


def _reference_store() -> MemoryNodeStore:
    store = MemoryNodeStore()
    append_leaf_hashes(store, [leaf_hash(x) for x in REFERENCE_LEAVES])
    return store


def _tree(n: int) -> tuple[MemoryNodeStore, list[bytes]]:
    leaves = [i.to_bytes(4, "big") for i in range(n)]
    store = MemoryNodeStore()
    append_leaf_hashes(store, [leaf_hash(x) for x in leaves])
    return store, leaves


def test_all_196_vectors_present(shared_dir: Path) -> None:
    assert len(_vectors(shared_dir, "inclusion")) + len(_vectors(shared_dir, "consistency")) == 196


def test_inclusion_vectors(shared_dir: Path) -> None:
    store = _reference_store()
    checked = generated = 0
    for path, v in _vectors(shared_dir, "inclusion"):
        proof = [_b64(p) for p in v["proof"] or []]
        args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), proof, _b64(v["root"]))
        if v["wantErr"]:
            with pytest.raises(ProofError):
                verify_inclusion(*args)
        else:
            verify_inclusion(*args)
            if "single-entry" not in path.parts:
                # Our own tree must produce the very same proof and root from the reference leaves.
                assert inclusion_proof(store, v["leafIdx"], v["treeSize"]) == proof, path
                assert tree_root(store, v["treeSize"]) == _b64(v["root"]), path
                generated += 1
        checked += 1
    assert checked > 0 and generated > 0


def test_consistency_vectors(shared_dir: Path) -> None:
    store = _reference_store()
    generated = 0
    for path, v in _vectors(shared_dir, "consistency"):
        proof = [_b64(p) for p in v["proof"] or []]
        args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), proof)
        if v["wantErr"]:
            with pytest.raises(ProofError):
                verify_consistency(*args)
        else:
            verify_consistency(*args)
            if "additional" not in path.parts:
                assert consistency_proof(store, v["size1"], v["size2"]) == proof, path
                assert tree_root(store, v["size1"]) == _b64(v["root1"]), path
                assert tree_root(store, v["size2"]) == _b64(v["root2"]), path
                generated += 1
    assert generated > 0


def test_reference_roots() -> None:
    store = _reference_store()
    for n, expected in enumerate(REFERENCE_ROOTS, start=1):
        assert root_hash(REFERENCE_LEAVES[:n]).hex() == expected
        assert tree_root(store, n).hex() == expected


def test_empty_tree_and_hash_prefixes() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert tree_root(MemoryNodeStore()) == EMPTY_ROOT
    assert root_hash([]) == EMPTY_ROOT
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def test_append_one_by_one_equals_batch() -> None:
    one = MemoryNodeStore()
    for i in range(37):
        append_leaf_hashes(one, [leaf_hash(bytes([i]))])
    batch = MemoryNodeStore()
    append_leaf_hashes(batch, [leaf_hash(bytes([i])) for i in range(20)])
    append_leaf_hashes(batch, [leaf_hash(bytes([i])) for i in range(20, 37)])
    for n in range(38):
        assert tree_root(one, n) == tree_root(batch, n) == root_hash([bytes([i]) for i in range(n)])


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_many(self, keys):
        self.reads += len(keys)
        return super().get_many(keys)


def test_proofs_read_logarithmically_many_nodes() -> None:
    store = CountingStore()
    n = 5000
    append_leaf_hashes(store, [leaf_hash(i.to_bytes(4, "big")) for i in range(n)])
    bound = 2 * n.bit_length()
    for size in (n, 4097, 4096, 3333):
        for index in (0, size // 2, size - 1):
            store.reads = 0
            inclusion_proof(store, index, size)
            assert store.reads <= bound
        store.reads = 0
        consistency_proof(store, size // 3, size)
        assert store.reads <= bound
        store.reads = 0
        tree_root(store, size)
        assert store.reads <= size.bit_length()


def test_appending_reads_amortised_constant() -> None:
    store = CountingStore()
    for i in range(1024):
        append_leaf_hashes(store, [leaf_hash(i.to_bytes(2, "big"))])
    assert store.reads <= 1024


def test_subtree_hash_and_bad_arguments() -> None:
    store, leaves = _tree(11)
    assert subtree_hash(store, 8, 11) == root_hash(leaves[8:11])
    with pytest.raises(InputError):
        subtree_hash(store, 3, 5)
    with pytest.raises(InputError):
        inclusion_proof(store, 11, 11)
    with pytest.raises(InputError):
        inclusion_proof(store, 0, 12)
    with pytest.raises(InputError):
        consistency_proof(store, 0, 5)
    with pytest.raises(InputError):
        consistency_proof(store, 6, 5)
    assert consistency_proof(store, 5, 5) == []
    with pytest.raises(InputError):
        append_leaf_hashes(store, [b"short"])


def test_store_refuses_rewrites() -> None:
    store, _ = _tree(4)
    with pytest.raises(ValueError):
        store.put_many([(0, 1, b"\x00" * 32)], 4)
    with pytest.raises(ValueError):
        store.put_many([(0, 9, b"\x00" * 32)], 10)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=300), st.data())
def test_generated_inclusion_proofs_verify(n: int, data: st.DataObject) -> None:
    store, leaves = _tree(n)
    size = data.draw(st.integers(min_value=1, max_value=n))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    root = root_hash(leaves[:size])
    proof = inclusion_proof(store, index, size)
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, root)
    # Any flipped bit, dropped or extra hash, or wrong index/leaf must fail.
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(leaves[index]), bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(index, size, leaf_hash(leaves[index]), proof[:-1], root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(leaves[index]), [*proof, root], root)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"not the leaf"), proof, root)
    if size > 1:
        with pytest.raises(ProofError):
            verify_inclusion((index + 1) % size, size, leaf_hash(leaves[index]), proof, root)


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=2, max_value=300), st.data())
def test_generated_consistency_proofs_verify(n: int, data: st.DataObject) -> None:
    store, leaves = _tree(n)
    second = data.draw(st.integers(min_value=2, max_value=n))
    first = data.draw(st.integers(min_value=1, max_value=second - 1))
    r1, r2 = root_hash(leaves[:first]), root_hash(leaves[:second])
    proof = consistency_proof(store, first, second)
    verify_consistency(first, second, r1, r2, proof)
    k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bad = list(proof)
    bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, r2, bad)
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, r2, proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, r2, [*proof, r1])
    with pytest.raises(ProofError):
        verify_consistency(first, second, r2, r1, proof)
    # A forked history (one earlier leaf changed) must not be provably consistent.
    forked = list(leaves[:second])
    forked[data.draw(st.integers(min_value=0, max_value=first - 1))] = b"forged"
    with pytest.raises(ProofError):
        verify_consistency(first, second, r1, root_hash(forked), proof)


@pytest.mark.parametrize(("first", "second"), [(-1, -1), (-3, 5), (-5, -2)])
def test_negative_sizes_prove_nothing(first: int, second: int) -> None:
    # Found by tests/fuzz: equal negative sizes with an empty proof used to "verify".
    with pytest.raises(ProofError, match="negative"):
        verify_consistency(first, second, EMPTY_ROOT, EMPTY_ROOT, [])
