"""Applying an op batch to the room's recipe, validating only the part of the recipe it changes.

Validating the whole recipe after every op (structure check, migrate's deep copy, pydantic over
every model, dump) cost ~250 us an op, most of an op's CPU in a busy room. When the recipe
before the batch is known to be the room's own clean dump (valid, every default filled in), a
write at a pointer can change only one subtree, and validating that subtree decides exactly what
validating the whole document would:

Walk the recipe's models down the pointer. The batch's *scope* is the deepest model node such
that nothing above it can see the change: every model above it has no model validator, no
serializer and no computed field; every field taken has no field validator or serializer and is
typed as a plain model, or as a list or dict of plain models entered only below one element
(the list itself, and with it its length limit, unchanged). Outside the scope the document is
unchanged and valid, so the whole document is valid exactly when the scope's model accepts its
new value; the first error is the same error (pydantic reports errors in field order, and the
only ones are inside the scope); and the whole dump differs from the old one only at the scope,
where it is the scope's own dump. Several writes in one batch share the deepest scope common to
all of them. The structural limits (`recipe.MAX_DEPTH`, `recipe.MAX_NODES`) are tracked from
the node count and height of the document and of each written value; when a batch might cross
them, or its scope is the root, or the document is not known to be clean, the whole document
is validated as before. tests/collab/test_validation.py checks both ways agree on random ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel, RootModel

from collab import pointer
from projects import recipe

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class _Child:
    kind: Literal["model", "list", "dict"]
    model: type[BaseModel]


@dataclass(frozen=True)
class _Shape:
    # A model whose own validators, serializers or computed fields may look at any of its
    # fields: a change anywhere inside it is validated from it.
    opaque: bool
    # JSON key -> what the field holds, for the fields a scope may descend through.
    children: dict[str, _Child]


def _plain_model(tp: Any) -> type[BaseModel] | None:
    if isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, RootModel):
        return tp
    return None


def _child(field: Any) -> _Child | None:
    if field.discriminator is not None:
        return None
    tp = field.annotation
    model = _plain_model(tp)
    if model is not None:
        return None if field.metadata else _Child("model", model)
    # Length limits bound the container, which a scope below one element leaves unchanged.
    if any(
        not isinstance(m, annotated_types.MaxLen | annotated_types.MinLen) for m in field.metadata
    ):
        return None
    origin, args = get_origin(tp), get_args(tp)
    if origin is list and len(args) == 1 and (model := _plain_model(args[0])) is not None:
        return _Child("list", model)
    if origin is dict and len(args) == 2 and args[0] is str:
        model = _plain_model(args[1])
        if model is not None:
            return _Child("dict", model)
    return None


@cache
def _shape(model: type[BaseModel]) -> _Shape:
    # pydantic keeps every decorator a model declares (its own and inherited) here.
    found = model.__pydantic_decorators__
    opaque = bool(
        found.model_validators
        or found.root_validators
        or found.model_serializers
        or found.computed_fields
    )
    watched: set[str] = set()
    for group in (found.field_validators, found.validators, found.field_serializers):
        for decorator in group.values():
            watched.update(decorator.info.fields)
    children: dict[str, _Child] = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if name in watched or field.validation_alias not in (None, key):
            continue
        if field.serialization_alias not in (None, key):
            continue
        child = _child(field)
        if child is not None:
            children[key] = child
    return _Shape(opaque or "*" in watched, children)


def _chain(doc: Any, parts: list[str]) -> list[tuple[Loc, type[BaseModel]]]:
    """The model nodes from the root down to the scope of a write at `parts` (in `doc`, the
    document after the batch): each is a candidate scope, the last the deepest."""
    model: type[BaseModel] = recipe.Recipe
    loc: Loc = ()
    node = doc
    chain = [(loc, model)]
    while True:
        shape = _shape(model)
        rest = parts[len(loc) :]
        # A change to one of this model's own fields is validated by this model.
        if shape.opaque or len(rest) <= 1 or not isinstance(node, dict):
            return chain
        child = shape.children.get(rest[0])
        if child is None or rest[0] not in node:
            return chain
        value = node[rest[0]]
        step: Loc
        if child.kind == "model":
            step, below = (rest[0],), value
        elif len(rest) <= 2:
            return chain  # an element itself, or the container: its owner validates it
        elif child.kind == "list":
            index = pointer.list_index(value, rest[1])
            if index is None:
                return chain
            step, below = (rest[0], index), value[index]
        else:
            if not isinstance(value, dict) or rest[1] not in value:
                return chain
            step, below = (rest[0], rest[1]), value[rest[1]]
        if not isinstance(below, dict):
            return chain
        loc, model, node = (*loc, *step), child.model, below
        chain.append((loc, model))


def _common(chains: list[list[tuple[Loc, type[BaseModel]]]]) -> tuple[Loc, type[BaseModel]]:
    """The deepest model node on every chain: the scope of a batch."""
    shortest = min(chains, key=len)
    depth = 0
    while depth < len(shortest) and all(c[depth][0] == shortest[depth][0] for c in chains):
        depth += 1
    return shortest[depth - 1]


def size(value: Any) -> tuple[int, int]:
    """(nodes, height) as `recipe`'s structure check counts them: every value is a node; a
    scalar or an empty container has height 0."""
    if isinstance(value, dict):
        children: Any = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 1, 0
    nodes, height = 1, -1
    for child in children:
        n, h = size(child)
        nodes += n
        height = max(height, h)
    return nodes, height + 1


@dataclass
class Write:
    path: str
    op: str  # set | remove
    value: Any = None
    client_op_id: str = ""  # the client's id for the op (not part of the recipe)


class BatchError(Exception):
    """A batch the recipe refuses: the code, detail and pointer of the first problem."""

    def __init__(self, code: str, detail: str, path: str | None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.path = path


class RecipeDoc:
    """The room's recipe inside one write transaction: batches apply to it one after another,
    each all or nothing. `clean`: the document is the room's own dump of a validated recipe
    (only then is a batch validated by its scope)."""

    def __init__(self, doc: dict[str, Any], *, clean: bool) -> None:
        self.doc = doc
        self.clean = clean
        self._size: tuple[int, int] | None = None

    def apply(self, writes: Sequence[Write], *, scoped: bool = True) -> list[tuple[Any, bool]]:
        """Applies the batch and returns what each write replaced (value, existed); the
        document is left as it was when the batch is refused (BatchError). `scoped=False`
        always validates the whole document (the reference the scoped path must agree with)."""
        scoped = scoped and self.clean
        if scoped and self._size is None:
            self._size = size(self.doc)
        nodes, deepest = self._size if scoped and self._size is not None else (0, 0)
        doc: Any = self.doc
        prevs: list[tuple[Any, bool]] = []
        parts: list[list[str]] = []
        for w in writes:
            try:
                split = pointer.parse(w.path)
                before = pointer.get(doc, w.path)
                if w.op == "remove":
                    doc = pointer.remove(doc, w.path, copy=True)
                else:
                    doc = pointer.set_value(doc, w.path, w.value, copy=True)
            except pointer.PointerError as exc:
                raise BatchError(exc.code, exc.detail, w.path) from None
            existed = before is not pointer.MISSING
            prevs.append((before if existed else None, existed))
            parts.append(split)
            if existed:
                nodes -= size(before)[0]
            if w.op != "remove":
                added, added_height = size(w.value)
                nodes += added
                deepest = max(deepest, len(split) + added_height)
        scope = _common([_chain(doc, p) for p in parts]) if scoped else None
        within_limits = nodes <= recipe.MAX_NODES and deepest <= recipe.MAX_DEPTH
        try:
            if scope is None or scope[0] == () or not within_limits:
                clean = recipe.dump(recipe.parse(doc))
                self._size = None  # counted when a scoped batch next needs it
            else:
                loc, model = scope
                part = recipe.parse_part(model, _at(doc, loc), loc)
                clean = pointer.set_value(doc, pointer.format_pointer(loc), part, copy=True)
                # The dump may fill defaults in the scope: count it again there.
                old_part, new_part = size(_at(doc, loc))[0], size(part)[0]
                self._size = (nodes - old_part + new_part, max(deepest, len(loc) + size(part)[1]))
        except recipe.RecipeError as exc:
            raise BatchError(exc.code, exc.detail, exc.pointer) from None
        self.doc = clean
        self.clean = True
        return prevs


def _at(doc: Any, loc: Loc) -> Any:
    for part in loc:
        doc = doc[part]
    return doc
