"""The hub's HTTP face: one Flask blueprint per resource (each keeps its ``OPENAPI``
fragment), the shared request helpers (``_http``) and the OpenAPI document built from them.

Blueprints parse the request, call the hub's behaviour (``sendx.exchange.hub.service``) and
format the answer; no rule of who may do what lives here.
"""
