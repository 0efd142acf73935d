"""What anyone may read without signing in (issue 12's public pages): authorised programmes and their credits.

``visibility.py`` is the caller these reads run as (what an unprivileged caller sees: authorised programmes only);
``serials.py`` answers a serial-number lookup: which block, who holds it or how it was retired, in which
transactions.
"""
