"""Movements: recording explicit events, filters, and who sees what (LA area scoping)."""

from __future__ import annotations

from hub_helpers import movement, post_json


def _setting(name, urn, la, ap=False):
    return {"name": name, "urn": urn, "la": la, "ap": ap}


KINGSBRIDGE = _setting("Kingsbridge Academy", "145832", "330")
NORTHFIELD_AP = _setting("Northfield Pupil Referral Unit", "103614", "330", ap=True)
HILLTOP = _setting("Hilltop School", "140001", "331")


def _record(client, actor, doc):
    doc["recordedBy"] = {"participant": actor.id, "role": actor.role}
    return post_json(client, "/v1/movements", doc, actor)


def test_record_and_replay(client, hub, world):
    a = world["school-145832"]
    doc = movement()
    r = _record(client, a, doc)
    assert r.status_code == 201 and r.json["logIndex"] == 0
    before = hub.counts()
    again = _record(client, a, doc)
    assert again.status_code == 200 and again.json == r.json and hub.counts() == before
    doc["reason"] = "changed"
    assert _record(client, a, doc).status_code == 409 and hub.counts() == before


def test_invalid_movement_422(client, hub, world):
    a = world["school-145832"]
    before = hub.counts()
    r = _record(client, a, movement(to=None))  # AP placement start must name the AP setting
    assert r.status_code == 422 and "MOVEMENT-AP-INTO" in {i["rule"] for i in r.json["issues"]}
    assert hub.counts() == before


def test_school_records_only_its_own_moves(client, hub, world):
    other = world["school-145833"]
    before = hub.counts()
    r = _record(client, other, movement())  # Kingsbridge → Northfield: not Riverside's business
    assert r.status_code == 403 and hub.counts() == before
    doc = movement()
    doc["recordedBy"] = {"participant": "school-145832"}
    assert post_json(client, "/v1/movements", doc, other).status_code == 403


def test_la_scoping_and_filters(client, world):
    la330, la331 = world["la-330"], world["la-331"]
    a, ap, hill = world["school-145832"], world["ap-103614"], world["school-140001"]
    assert _record(client, a, movement(effectiveDate="2026-10-05")).status_code == 201  # into AP, LA 330
    assert (
        _record(
            client,
            ap,
            movement("ap-placement-end-reintegrated", effectiveDate="2026-11-02", pupil={"upn": "N330200119043"}),
        ).status_code
        == 201
    )
    cross = movement("ap-placement-start", **{"from": HILLTOP, "to": NORTHFIELD_AP, "effectiveDate": "2026-09-10"})
    cross["pupil"] = {"upn": "B801200005001"}
    assert _record(client, hill, cross).status_code == 201  # LA 331 pupil into LA 330 AP
    local331 = movement("destination-unknown", **{"from": HILLTOP, "effectiveDate": "2026-09-01"})
    assert _record(client, hill, local331).status_code == 201  # LA 331 only

    def events(actor, q=""):
        r = client.get(f"/v1/movements{q}", headers=actor.headers)
        assert r.status_code == 200, r.json
        return [(m["event"]["type"], m["event"]["effectiveDate"]) for m in r.json["items"]]

    assert events(la330) == [
        ("ap-placement-start", "2026-09-10"),
        ("ap-placement-start", "2026-10-05"),
        ("ap-placement-end", "2026-11-02"),
    ]
    assert events(la331) == [("destination-unknown", "2026-09-01"), ("ap-placement-start", "2026-09-10")]
    assert events(la330, "?type=ap-placement-end") == [("ap-placement-end", "2026-11-02")]
    assert events(la330, "?from=2026-10-01&to=2026-10-31") == [("ap-placement-start", "2026-10-05")]
    assert events(la331, "?ap=true") == [("ap-placement-start", "2026-09-10")]
    assert events(la330, "?upn=B801200005001") == [("ap-placement-start", "2026-09-10")]
    # Schools see what they recorded or what touches their setting.
    assert events(a) == [("ap-placement-start", "2026-10-05"), ("ap-placement-end", "2026-11-02")]
    assert len(events(ap)) == 3
    assert events(world["school-145833"]) == []
    assert client.get("/v1/movements?from=not-a-date", headers=la330.headers).status_code == 400
    typo = client.get("/v1/movements?type=ap-placement-ennd", headers=la330.headers)  # not an empty list
    assert typo.status_code == 400 and "unknown movement type" in typo.json["detail"]
    # ... a NUL too: it is refused as a type before any store sees it (PostgreSQL refuses NUL in text).
    assert client.get("/v1/movements?type=%00", headers=la330.headers).status_code == 400
    assert client.get("/v1/movements", headers=world["health-RXH"].headers).status_code == 403


def test_la_records_in_its_area_only(client, world):
    la330, la331 = world["la-330"], world["la-331"]
    doc = movement()
    assert _record(client, la330, doc).status_code == 201
    assert _record(client, la331, movement()).status_code == 403


def test_a_recorded_event_reads_back_exactly(client, world):
    """What the hub seals is read back (by the movements API and the LA pages alike) as sent:
    non-ASCII names, escapes and numbers included."""
    a, la = world["school-145832"], world["la-330"]
    doc = movement(reason='Symud i Ysgol Gymraeg – “Ŵ” \\ "quoted" \u2028 😀', hours=27.5, days=3, fraction=0.1)
    doc["from"] = {**KINGSBRIDGE, "name": "Ysgol Gymraeg Llandeilo – ‘Ŵ’"}
    assert _record(client, a, doc).status_code == 201
    items = client.get("/v1/movements", headers=la.headers).json["items"]
    assert [i["event"] for i in items] == [doc]
