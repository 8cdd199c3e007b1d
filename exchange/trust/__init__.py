"""Trust: who said what.  Participants' Ed25519 keys and the trust registry (``keys``), the one
canonical byte form of JSON (``canonical``), and detached JWS signatures over documents, CTF
files and envelopes (``signing``; ``SIGNING.md`` says why not XML-DSig).

The *sign* step of bytes → parse → validate → adapt → sign → exchange.  Trust depends only on
``sendx.validators`` (errors, parsing); it never imports the log, the store, the hub or the
command line, so a receiver can verify a document with nothing else installed.
"""
