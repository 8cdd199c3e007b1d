"""The LA audit: an area's movement history turned into oversight figures (AP in and out,
reintegration, time in AP, unknown destinations, EHCP timeliness), filtered views and CSV
(``figures``), the counting rules those figures are made of (``facts``, which the hub also
applies as records are written), and the LA pages' view models rendered to HTML (``pages``).

It reads plain event dicts, never the store or HTTP: the hub's pages and ``sendx demo`` hand
it the movements an LA may see.
"""
