"""CSV exports of the registry's lists (programmes, transfers, retirements), streamed row batch by row batch.

Each export reads the very statement its list pages through (``select_programmes``, ``select_transfers``,
``select_retirements``: visibility, filters and order built once), over a server-side cursor, and writes it with
the ``csv`` module: memory stays at one batch however large the table. ``csv_stream`` holds the generic part (the
cursor, the cells, formula neutralisation); ``tables`` the three exports and their columns.
"""
