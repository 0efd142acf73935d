"""Programmes: registration, authorisation, issuance and certification (reference §5), with anchored details."""
