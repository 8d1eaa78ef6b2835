"""Loads the archive's Datasette plugin with ``datasette --plugins-dir archive/datasette_plugins``.

For a source checkout where the package (and so its entry point) is not installed. Every
hook implementation of ``archive.datasette_plugin`` is taken over by its marker, not by a
list of names, so a hook added there is never missing here (the search window and the tag
filter once were).
"""

from archive.datasette_plugin import hook_implementations

globals().update(hook_implementations())
