"""The exports fixtures: the programmes' populated registry with its indexer (credits need both)."""

from tests.api.programmes.conftest import (
    app_client,
    files_dir,
    module_registry,
    module_settings,
    running_indexer,
    world,
)

__all__ = ["app_client", "files_dir", "module_registry", "module_settings", "running_indexer", "world"]
