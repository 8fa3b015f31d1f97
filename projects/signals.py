"""Signals other apps may listen to; projects imports none of them.

`project_recipe_changed` is sent once the transaction that wrote a project's recipe outside any
room commits (save, PATCH, restore, preset apply, XMP import: everything through
`services.project_save`), with `project_id` and the new `version`. The collaboration app
connects to it so an open room hears the write at once.
"""

from __future__ import annotations

from django.dispatch import Signal

project_recipe_changed = Signal()
