"""Pupil-record JSON, a Common Transfer File's JSON form: recognised, schema-checked, identifiers.

What ``sendx convert CTF.xml --to pupil-json`` writes (``sendx.adapters.ctf``), recognised by its
``$schema`` so that ``sendx validate`` reads sendx's own output.  The schema
(``schemas/pupil-json/schema.json``) checks the shape the converter reads back; pupils' UPNs and
ULNs are checked as in the CTF.  The CTF rules proper (XSD, code lists, dates) apply to the CTF
the JSON converts back to.
"""

from __future__ import annotations

from sendx.validators.jsonkind import register_json_kind

KIND = "pupil-json"

register_json_kind(
    KIND,
    description="A Common Transfer File's pupil records as JSON (sendx convert --to pupil-json)",
    identifiers={
        "/pupils/*/upn": "ID-UPN",
        "/pupils/*/uln": "ID-ULN",
        "/pupils/*/basicDetails/formerUpn": "ID-UPN",
    },
)
