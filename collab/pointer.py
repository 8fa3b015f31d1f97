"""RFC 6901 JSON pointers: parse, read, set and remove inside a JSON document.

An op names one place in the recipe. `set` replaces (or adds) the value there, `remove` deletes
it; the parent must exist. Arrays take an index in range, or `-` to append on `set`.
"""

from __future__ import annotations

from typing import Any

MISSING: Any = object()


class PointerError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError("bad_pointer", "A JSON pointer is empty or starts with '/'.")
    parts = pointer[1:].split("/")
    for part in parts:
        # "~" must be followed by 0 or 1 (RFC 6901 section 3).
        if "~" in part.replace("~0", "").replace("~1", ""):
            raise PointerError("bad_pointer", f"Bad escape in pointer segment {part!r}.")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def format_pointer(parts: list[str] | tuple[str | int, ...]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _index(container: list[Any], part: str, *, allow_end: bool) -> int:
    if allow_end and part == "-":
        return len(container)
    if not part.isdigit() or (part != "0" and part.startswith("0")):
        raise PointerError("bad_path", f"{part!r} is not an array index.")
    index = int(part)
    if index >= len(container) + (1 if allow_end else 0):
        raise PointerError("bad_path", f"Index {index} is out of range.")
    return index


def list_index(container: Any, part: str) -> int | None:
    """The index `part` names in the list `container`, or None (not a list, not an index, out
    of range)."""
    if not isinstance(container, list):
        return None
    try:
        return _index(container, part, allow_end=False)
    except PointerError:
        return None


def get(doc: Any, pointer: str) -> Any:
    """The value at `pointer`, or MISSING when nothing is there."""
    node = doc
    for part in parse(pointer):
        if isinstance(node, dict):
            if part not in node:
                return MISSING
            node = node[part]
        elif isinstance(node, list):
            try:
                node = node[_index(node, part, allow_end=False)]
            except PointerError:
                return MISSING
        else:
            return MISSING
    return node


def _parent(doc: Any, parts: list[str], *, copying: bool = False) -> Any:
    """The container that holds the last part. `copying`: every container on the way down is
    replaced by a shallow copy of itself (the caller copied `doc`), so a write through the
    parent changes the copy and leaves the caller's original document as it was."""
    node = doc
    for part in parts[:-1]:
        key: str | int
        if isinstance(node, dict):
            if part not in node:
                raise PointerError("bad_path", f"Nothing at {format_pointer(parts)}'s parent.")
            key = part
        elif isinstance(node, list):
            key = _index(node, part, allow_end=False)
        else:
            raise PointerError("bad_path", f"{format_pointer(parts)} goes through a scalar.")
        child = node[key]
        if copying and isinstance(child, dict | list):
            child = child.copy()
            node[key] = child
        node = child
    return node


def _start(doc: Any, parts: list[str], copy: bool) -> tuple[Any, Any]:
    """(root, parent): the document to change (a shallow copy when `copy`) and the container
    the write lands in."""
    root = doc.copy() if copy and isinstance(doc, dict | list) else doc
    return root, _parent(root, parts, copying=copy)


def set_value(doc: Any, pointer: str, value: Any, *, copy: bool = False) -> Any:
    """Sets the value and returns the document (a new one for the root pointer). In place,
    unless `copy`: then the containers along the path are copied and the result shares every
    other node with `doc`, which stays unchanged (so a rejected batch needs no undo)."""
    parts = parse(pointer)
    if not parts:
        return value
    root, parent = _start(doc, parts, copy)
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        index = _index(parent, parts[-1], allow_end=True)
        if index == len(parent):
            parent.append(value)
        else:
            parent[index] = value
    else:
        raise PointerError("bad_path", f"{pointer} goes through a scalar.")
    return root


def remove(doc: Any, pointer: str, *, copy: bool = False) -> Any:
    """Removes the value and returns the document; `copy` as for `set_value`."""
    parts = parse(pointer)
    if not parts:
        raise PointerError("bad_path", "The whole document cannot be removed.")
    root, parent = _start(doc, parts, copy)
    if isinstance(parent, dict):
        if parts[-1] not in parent:
            raise PointerError("bad_path", f"Nothing at {pointer}.")
        del parent[parts[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, parts[-1], allow_end=False)]
    else:
        raise PointerError("bad_path", f"{pointer} goes through a scalar.")
    return root


def overlaps(a: str, b: str) -> bool:
    """True when one pointer names the other's place or a place inside it."""
    pa, pb = parse(a), parse(b)
    n = min(len(pa), len(pb))
    return pa[:n] == pb[:n]
