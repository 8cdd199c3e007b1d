"""Browser tests: the hub's pages in Debian's chromium (a package, so its module names never clash)."""
