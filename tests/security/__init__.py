"""The security suite: every known attack, through every entry point that takes untrusted input."""
