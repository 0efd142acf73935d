"""Chain events -> PostgreSQL ``chain`` projections (reorg-safe, checkpointed). Imports ``node`` only, never ``api``."""
