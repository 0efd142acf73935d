"""Where the project's files are, independent of the working directory."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The repository root: contracts/, bin/solc and node_modules/ live here."""
