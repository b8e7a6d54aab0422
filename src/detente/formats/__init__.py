"""Formats layer: readers and writers between files and :class:`~detente.scenario.Scenario`.

:func:`load` picks a reader from the file's extension and content; :func:`save` picks a
writer from the extension. Every reader raises :class:`~detente.errors.InputError` listing
all problems of the file (file, line, column, value, what was expected), never a traceback.
"""

from detente.formats.registry import FORMATS, load, save, sniff_format

__all__ = ["FORMATS", "load", "save", "sniff_format"]
