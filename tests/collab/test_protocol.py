"""The published JSON Schemas match the message models, and pointers follow RFC 6901."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from collab import pointer
from collab.protocol import SCHEMA_DIR, render, schemas


def test_every_message_has_a_schema_file_in_the_repository_that_matches_its_model() -> None:
    expected = schemas()
    on_disk = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.schema.json")}
    assert set(on_disk) == set(expected)
    stale = [name for name, schema in expected.items() if on_disk[name] != render(schema)]
    assert stale == [], "run `python -m collab.protocol` to rewrite them"


def test_the_op_schema_accepts_a_batch_and_refuses_an_op_without_an_id() -> None:
    validator = Draft202012Validator(schemas()["client.op.schema.json"])
    good = {"type": "op", "ops": [{"id": "c1", "path": "/develop/light/exposure", "value": 1}]}
    assert validator.is_valid(good)
    assert not validator.is_valid({"type": "op", "ops": [{"path": "/a", "value": 1}]})


def test_pointers_unescape_tilde_and_slash_and_refuse_paths_through_missing_parents() -> None:
    doc = {"a/b": {"m~n": [1, 2]}}
    pointer.set_value(doc, "/a~1b/m~0n/-", 3)
    assert pointer.get(doc, "/a~1b/m~0n") == [1, 2, 3]
    with pytest.raises(pointer.PointerError):
        pointer.set_value(doc, "/nope/x", 1)
    assert pointer.overlaps("/develop/light", "/develop/light/exposure")
    assert not pointer.overlaps("/develop/light/exposure", "/develop/light/contrast")
