"""Organisations and users endpoints; every rule they apply is in ``node.identity``."""
