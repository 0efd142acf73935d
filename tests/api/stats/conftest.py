"""The statistics fixtures: one populated registry per module with the indexer running (as the credit tests)."""

from tests.api.programmes.conftest import (
    app_client,
    files_dir,
    module_registry,
    module_settings,
    running_indexer,
    world,
)

__all__ = ["app_client", "files_dir", "module_registry", "module_settings", "running_indexer", "world"]
