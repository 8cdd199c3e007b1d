"""Fuzzing the movement log's text formats and proofs: C2SP notes, key texts, receipts, Merkle proofs.

Robustness: every parser (signed notes, checkpoints, verifier and signer keys, tlog-proof
receipts, verifier state files) and every proof check takes arbitrary or mutated input and
returns or raises a ``SendxError``.  Soundness: a mutated checkpoint, receipt or proof that
still verifies proves exactly what the original proved — same checkpoint, same leaf at
the same index, same roots — so the fuzzer cannot forge log evidence.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sendx.exchange.log import checkpoint as cp
from sendx.exchange.log import merkle
from sendx.exchange.log.receipt import Receipt, verify_receipt
from sendx.exchange.log.transparency import MemoryEntryStore, TransparencyLog
from sendx.exchange.log.verify import VerifierState, verify_log
from tests.fuzz.fuzzkit import fuzz, guarded, json_values, mutated_json, mutated_text, nasty_text

ORIGIN = "sendx.hub/log"
SIGNER = cp.Signer.generate(ORIGIN)
VERIFIER = SIGNER.verifier()
LEAVES = [f"movement {i}".encode() for i in range(13)]
LOG = TransparencyLog(merkle.MemoryNodeStore(), MemoryEntryStore())
LOG.append_many(LEAVES)
NOTE = LOG.checkpoint(SIGNER, ORIGIN)
CHECKPOINT = cp.verify_checkpoint(NOTE, VERIFIER)
#: The same checkpoint with a witness cosignature, whose line the verifier must skip.
COSIGNED = cp.sign_note(CHECKPOINT.to_note(), [SIGNER, cp.Signer.generate("witness.example")])
RECEIPTS = {i: LOG.receipt(i, NOTE, len(LEAVES)) for i in (0, 5, 12)}
#: A real state file: what verifying LOG leaves behind (checkpoints, compact range, fingerprint).
STATE = verify_log(LOG, NOTE, VERIFIER).state.to_dict()


@fuzz()
@given(note=mutated_text([NOTE, COSIGNED]) | nasty_text, origin=st.sampled_from([None, ORIGIN, "other/log"]))
def test_signed_checkpoints(note: str, origin: str | None) -> None:
    guarded("checkpoint: parse_note", cp.parse_note, note)
    got = guarded("checkpoint: verify_checkpoint", cp.verify_checkpoint, note, VERIFIER, origin=origin)
    if isinstance(got, cp.Checkpoint):
        assert got == CHECKPOINT  # the signature covers the body: edits elsewhere change nothing it says
    body = guarded("checkpoint: Checkpoint.from_note", cp.Checkpoint.from_note, note)
    if isinstance(body, cp.Checkpoint):
        assert cp.Checkpoint.from_note(body.to_note()) == body


@fuzz()
@given(
    text=mutated_text([VERIFIER.to_text(), SIGNER.to_text()]) | nasty_text,
    data=json_values | mutated_json([CHECKPOINT.to_dict()]),
)
def test_key_texts_and_checkpoint_objects(text: str, data: object) -> None:
    verifier = guarded("checkpoint: Verifier.from_text", cp.Verifier.from_text, text)
    if isinstance(verifier, cp.Verifier):
        assert cp.Verifier.from_text(verifier.to_text()) == verifier
    signer = guarded("checkpoint: Signer.from_text", cp.Signer.from_text, text)
    if isinstance(signer, cp.Signer):
        assert signer.verifier() == cp.Signer.from_text(signer.to_text()).verifier()
    if isinstance(data, dict):
        guarded("checkpoint: Checkpoint.from_dict", cp.Checkpoint.from_dict, data)


@fuzz()
@given(
    index=st.sampled_from(sorted(RECEIPTS)),
    mutate=st.data(),
    leaf=st.sampled_from([*LEAVES[:6], b"", b"movement 12 "]),
)
def test_receipts(index: int, mutate: st.DataObject, leaf: bytes) -> None:
    text = mutate.draw(mutated_text([RECEIPTS[index]]) | nasty_text, label="receipt")
    parsed = guarded("receipt: Receipt.from_text", Receipt.from_text, text)
    got = guarded("receipt: verify_receipt", verify_receipt, text, leaf, VERIFIER, origin=ORIGIN)
    if isinstance(got, cp.Checkpoint):
        assert isinstance(parsed, Receipt) and got == CHECKPOINT
        assert LEAVES[parsed.index] == leaf  # only the leaf really at that index is proven


def _proof_case(draw: st.DrawFn) -> tuple[int, int, bytes, list[bytes], bytes]:
    size = draw(st.integers(1, len(LEAVES)))
    index = draw(st.integers(0, size - 1))
    return index, size, merkle.leaf_hash(LEAVES[index]), LOG.inclusion_proof(index, size), LOG.root(size)


hashes = st.binary(min_size=32, max_size=32) | st.binary(max_size=40)
ints = st.integers(min_value=-3, max_value=40) | st.integers(min_value=-(2**64), max_value=2**64)


@fuzz()
@given(data=st.data())
def test_inclusion_proofs(data: st.DataObject) -> None:
    index, size, leaf, proof, root = _proof_case(data.draw)
    edit = data.draw(st.sampled_from(["none", "index", "size", "drop", "add", "flip", "leaf", "root", "junk"]))
    if edit == "index":
        index = data.draw(ints)
    elif edit == "size":
        size = data.draw(ints)
    elif edit == "drop" and proof:
        proof = proof[: data.draw(st.integers(0, len(proof) - 1))]
    elif edit == "add":
        proof = [*proof, data.draw(hashes)]
    elif edit == "flip" and proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        proof = [*proof[:at], data.draw(hashes), *proof[at + 1 :]]
    elif edit == "leaf":
        leaf = data.draw(hashes)
    elif edit == "root":
        root = data.draw(hashes)
    elif edit == "junk":
        index, size, leaf, proof, root = (data.draw(ints), data.draw(ints), data.draw(hashes), [], data.draw(hashes))
    result = guarded("merkle: verify_inclusion", merkle.verify_inclusion, index, size, leaf, proof, root)
    # A proof only means something against an authentic (size, root) pair, as a signed
    # checkpoint gives (a proof may fit other sizes with the same path shape): against the
    # log's real root for ``size``, only the leaf really at ``index`` verifies.
    if result is None and 1 <= size <= len(LEAVES) and root == LOG.root(size):
        assert 0 <= index < size and leaf == merkle.leaf_hash(LEAVES[index])


@fuzz()
@given(first=ints, second=ints, proof=st.lists(hashes, max_size=8), real=st.booleans())
def test_consistency_proofs(first: int, second: int, proof: list[bytes], real: bool) -> None:
    roots = {n: LOG.root(n) for n in range(1, len(LEAVES) + 1)}
    if real and 1 <= first <= second <= len(LEAVES):
        proof = LOG.consistency_proof(first, second)
    old = roots.get(first, merkle.EMPTY_ROOT)
    new = roots.get(second, merkle.EMPTY_ROOT)
    result = guarded("merkle: verify_consistency", merkle.verify_consistency, first, second, old, new, proof)
    if result is None:  # equal sizes with equal roots are trivially consistent; else it must be this log
        assert (0 < first == second and old == new) or 1 <= first < second <= len(LEAVES)


@fuzz()
@given(index=ints, size=ints | st.none(), first=ints, second=ints | st.none())
def test_proof_requests_out_of_range(index: int, size: int | None, first: int, second: int | None) -> None:
    # What the hub's /v1/log/proof endpoints pass through from query strings.
    proof = guarded("log: inclusion_proof", LOG.inclusion_proof, index, size)
    if isinstance(proof, list):  # a proof the log hands out always verifies
        n = LOG.size if size is None else size
        merkle.verify_inclusion(index, n, merkle.leaf_hash(LEAVES[index]), proof, LOG.root(n))
    guarded("log: consistency_proof", LOG.consistency_proof, first, second)


@fuzz()
@given(state=mutated_json([STATE]) | json_values)
def test_verifier_state_files(state: object) -> None:
    got = guarded("logverify: VerifierState.from_dict", VerifierState.from_dict, state)
    if isinstance(got, VerifierState):
        assert VerifierState.from_dict(got.to_dict()) == got
