"""Files: atomic writes that never follow symbolic links (``atomic``) and image grids (``grids``).

The lowest layer with ``data`` and ``nn``: it imports nothing else of the library.
"""
