"""Loads the archive's Datasette plugin with ``datasette --plugins-dir archive/datasette_plugins``.

For a source checkout where the package (and so its entry point) is not installed.
"""

from archive.datasette_plugin import (
    extra_body_script,
    menu_links,
    prepare_jinja2_environment,
    register_routes,
    render_cell,
)

__all__ = [
    "extra_body_script",
    "menu_links",
    "prepare_jinja2_environment",
    "register_routes",
    "render_cell",
]
