"""A static-files finder that publishes single files shipped inside installed Python packages
(decision 0013: Plotly's `plotly.min.js` from the `plotly` wheel, without the 5 MB
`widgetbundle.js` and template JSONs that a whole-directory `STATICFILES_DIRS` entry would
publish too)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

# Static path -> (package, path inside the package). Settings may override it.
DEFAULT_PACKAGE_FILES: dict[str, tuple[str, str]] = {
    "plotly/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


class PackageFileFinder(BaseFinder):
    """Finds exactly the files listed in `MEDSERVICE_STATIC_PACKAGE_FILES` (static path ->
    (package, path in the package)), nothing else from those packages."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files: dict[str, Path] = {}
        mapping = getattr(settings, "MEDSERVICE_STATIC_PACKAGE_FILES", DEFAULT_PACKAGE_FILES)
        for static_path, (package, inner) in mapping.items():
            base = _package_dir(package)
            if base is not None:
                self.files[static_path] = base / inner
        self.missing = [path for path in mapping if path not in self.files]

    def check(self, **kwargs: Any) -> list[Error]:
        return [
            Error(f"The package that provides the static file {path} is not installed.",
                  id="medservice.E901")
            for path in self.missing
        ]  # fmt: skip

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> str | list[str]:
        # Django 5.2 renamed `all` to `find_all`; accept both.
        find_all = find_all or bool(kwargs.get("all", False))
        found = self.files.get(path)
        if found is None or not found.is_file():
            return [] if find_all else ""
        return [str(found)] if find_all else str(found)

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for static_path, file_path in self.files.items():
            if not file_path.is_file():
                continue
            # A storage rooted at the file's folder, whose path for the file is the static one.
            storage = FileSystemStorage(location=str(file_path.parent))
            storage.prefix = str(Path(static_path).parent)  # type: ignore[attr-defined]
            yield file_path.name, storage
