"""One module per feature of the web UI, each with a ``router`` that ``api.web.site`` includes."""
