"""Signals other apps may listen to; projects imports none of them.

`project_recipe_changed` is sent once the transaction that wrote a project's recipe outside any
room commits (save, PATCH, restore, preset apply, XMP import: everything through
`services.project_save`), with `project_id` and the new `version`. The collaboration app
connects to it so an open room hears the write at once.

`project_access_changed` is sent once the transaction that changed who may see or edit a project
commits (a collaborator's permission changed or removed, the project made private or public, the
project deleted), with `project_id`. The collaboration app connects to it so every open
connection checks its role again: whoever lost access is closed, whoever was demoted is told.
"""

from __future__ import annotations

from django.dispatch import Signal

project_recipe_changed = Signal()
project_access_changed = Signal()
