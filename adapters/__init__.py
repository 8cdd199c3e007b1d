"""Lossless conversions between the formats sendx speaks.

CTF XML ⇄ pupil-record JSON, FHIR health advice ⇄ EHCP sections C and G, EHCP → adjustment
passport draft, movement history → LA reports.  Adapters sit after validation in the flow
(bytes → parse → validate → adapt → sign → exchange) and never drop data silently.
"""
