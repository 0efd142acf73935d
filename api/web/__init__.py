"""The web UI (ADR 0019): server-rendered pages, same origin as the API, in English, French and Spanish."""
