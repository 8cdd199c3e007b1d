"""One damaged row never takes an LA's pages down: it is listed, with its log index, and the rest
of the area is served; damaged log storage is named as such, never an unexpected error.

A row is found damaged where it is opened (the API, a timeline page, the CSV, the overview's
cases): the overview's figures are kept as the movements were written (``area_facts``), so
they stand as they were."""

from __future__ import annotations

import csv
import io

import pytest
from hub_helpers import movement, post_json, sign_in
from sqlalchemy import select, text, update

from sendx.exchange.store.database import LogNode, Movement

EVENTS = 5


@pytest.fixture
def recorded(client, world) -> list[int]:
    """``EVENTS`` movements of LA 330's area; their log indices."""
    school = world["school-145832"]
    out = []
    for _ in range(EVENTS):
        doc = movement()
        doc["recordedBy"] = {"participant": school.id}
        r = post_json(client, "/v1/movements", doc, school)
        assert r.status_code == 201
        out.append(r.json["logIndex"])
    return out


def _damage(hub, index: int, **values) -> None:
    with hub.store.write() as s:
        s.execute(update(Movement).where(Movement.log_index == index).values(**values))


def _zeroed(hub, index: int) -> dict:
    with hub.store.read() as s:
        ct = s.scalar(select(Movement.ciphertext).where(Movement.log_index == index))
    return {"ciphertext": bytes(len(ct))}


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_zeroed, "cannot be decrypted"),
        (lambda hub, i: {"nonce": b"short"}, "cannot be decrypted"),
        (lambda hub, i: {"salt": bytes(32)}, "does not match its log entry"),
    ],
    ids=["zeroed-ciphertext", "bad-nonce", "altered-salt"],
)
def test_a_damaged_row_is_listed_and_the_rest_of_the_area_is_served(client, hub, world, recorded, damage, problem):
    bad = recorded[2]
    _damage(hub, bad, **damage(hub, bad))
    la = world["la-330"]

    api = client.get("/v1/movements", headers=la.headers)
    assert api.status_code == 200
    assert [d["logIndex"] for d in api.json["damaged"]] == [bad]
    assert problem in api.json["damaged"][0]["problem"]
    assert sorted(i["logIndex"] for i in api.json["items"]) == [i for i in recorded if i != bad]

    sign_in(client, la)
    assert client.get("/la/dashboard").status_code == 200
    page = client.get("/la/movements")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1 movement record of your area is damaged" in html and f"Log entry {bad}:" in html
    assert f"It is entry {bad} of the movement log" in html  # marked in its place on the timeline
    download = client.get("/la/movements.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert sorted(int(r["logIndex"]) for r in rows) == sorted(recorded)  # every row, the damaged one marked
    assert [(int(r["logIndex"]), problem in r["damaged"]) for r in rows if r["damaged"]] == [(bad, True)]


def test_an_undamaged_area_shows_no_damage(client, world, recorded):
    la = world["la-330"]
    assert client.get("/v1/movements", headers=la.headers).json["damaged"] == []
    sign_in(client, la)
    assert "damaged" not in client.get("/la/dashboard").get_data(as_text=True)
    assert "damaged" not in client.get("/la/movements").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(client.get("/la/movements.csv").get_data(as_text=True))))
    assert len(rows) == EVENTS and not any(r["damaged"] for r in rows)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # only SQLite lets a column hold another type
def test_a_leaf_stored_as_text_is_named_damaged_storage(client, hub, world, recorded):
    with hub.store.write() as s:
        s.execute(text("UPDATE log_leaves SET leaf = 'not bytes' WHERE \"index\" = 3"))
    r = client.get("/v1/log/entries", headers=world["la-330"].headers)
    assert r.status_code == 500 and r.json["type"].endswith("/log-damaged")
    assert "entry 3 is stored as str, not bytes" in r.json["detail"]
    # The movement whose entry it is cannot be checked, so it is listed as damaged, not served.
    api = client.get("/v1/movements", headers=world["la-330"].headers)
    assert [d["logIndex"] for d in api.json["damaged"]] == [3]


def test_a_truncated_node_is_named_damaged_storage(client, hub, world, recorded):
    with hub.store.write() as s:
        s.execute(update(LogNode).where(LogNode.level == 2, LogNode.index == 0).values(hash=b"short"))
    r = client.get("/v1/log/checkpoint", headers=world["la-330"].headers)
    assert r.status_code == 500 and r.json["type"].endswith("/log-damaged")
    assert "node (2, 0) is 5 bytes, not 32" in r.json["detail"]
