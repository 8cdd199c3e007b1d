"""Signing, the hub, the movement log, the client and the command line.

The last stage of the flow (bytes → parse → validate → adapt → sign → exchange).
"""
