"""The sync room's wire protocol: one pydantic model per message, JSON text frames.

Client -> server: hello, op, undo, redo, presence, preview, seen.
Server -> client: state, catchup, ops, ack, reject, error, join, here, leave, presence, preview,
event. `python -m collab.protocol` writes one JSON Schema per message into
`collab/protocol/schemas/`; docs/collab-protocol.md tells the story around them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
MAX_BATCH = 20

ClientOpId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Pointer = Annotated[str, Field(max_length=512)]
Seq = Annotated[int, Field(ge=0)]
PreviewSize = Annotated[int, Field(ge=64, le=4096)]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# --- client to server ------------------------------------------------------------------------


class Hello(Message):
    """First message. `last_seq`: the last sequence this client applied (null: none)."""

    type: Literal["hello"]
    last_seq: Seq | None = None
    preview_size: PreviewSize | None = None


class OpIn(Message):
    id: ClientOpId
    path: Pointer
    op: Literal["set", "remove"] = "set"
    value: Any = None


class OpBatch(Message):
    """One or more ops, applied together or not at all."""

    type: Literal["op"]
    ops: Annotated[list[OpIn], Field(min_length=1, max_length=MAX_BATCH)]


class Undo(Message):
    type: Literal["undo"]
    id: ClientOpId


class Redo(Message):
    type: Literal["redo"]
    id: ClientOpId


class Cursor(Message):
    x: float
    y: float


class PresenceIn(Message):
    type: Literal["presence"]
    cursor: Cursor | None = None
    tool: Annotated[str, Field(max_length=32)] | None = None
    selection: (
        Annotated[list[Annotated[str, Field(max_length=512)]], Field(max_length=50)] | None
    ) = None


class PreviewIn(Message):
    """Asks for live previews at this size (longest edge, px); null stops them."""

    type: Literal["preview"]
    size: PreviewSize | None


class Seen(Message):
    """Flow control: how many server messages this client has read on this connection."""

    type: Literal["seen"]
    received: Annotated[int, Field(ge=0)]


ClientMessage = Annotated[
    Hello | OpBatch | Undo | Redo | PresenceIn | PreviewIn | Seen, Field(discriminator="type")
]
client_message = TypeAdapter(ClientMessage)


# --- server to client ------------------------------------------------------------------------


class OpOut(Message):
    seq: int
    path: str
    op: Literal["set", "remove"]
    value: Any = None
    user: str | None
    id: str | None
    kind: Literal["edit", "undo", "redo", "sync"]


class Person(Message):
    id: str
    name: str


class State(Message):
    """Whole document: answer to a hello without a usable last_seq."""

    type: Literal["state"]
    seq: int
    version: int
    recipe: dict[str, Any]
    role: Literal["view", "edit", "admin", "owner", "public"]
    conn: str


class Catchup(Message):
    """The ops after the client's last_seq, in order."""

    type: Literal["catchup"]
    ops: list[OpOut]
    seq: int
    version: int
    role: Literal["view", "edit", "admin", "owner", "public"]
    conn: str


class Ops(Message):
    type: Literal["ops"]
    ops: list[OpOut]
    version: int


class Ack(Message):
    """Your ops (or undo/redo) were stored with these sequence numbers."""

    type: Literal["ack"]
    ids: list[str]
    seqs: list[int]
    version: int
    duplicate: bool = False
    skipped: list[str] = []


class Reject(Message):
    type: Literal["reject"]
    ids: list[str]
    code: str
    detail: str
    path: str | None = None


class Error(Message):
    type: Literal["error"]
    code: str
    detail: str
    path: str | None = None


class Join(Message):
    type: Literal["join", "here"]
    conn: str
    user: Person
    role: str
    cursor: Cursor | None = None
    tool: str | None = None
    selection: list[str] | None = None


class Leave(Message):
    type: Literal["leave"]
    conn: str
    user: Person


class PresenceOut(Message):
    type: Literal["presence"]
    conn: str
    user: Person
    cursor: Cursor | None = None
    tool: str | None = None
    selection: list[str] | None = None


class PreviewOut(Message):
    type: Literal["preview"]
    seq: int
    size: int
    url: str


class Event(Message):
    """Something that happened to the project elsewhere (export progress, completion)."""

    type: Literal["event"]
    event: dict[str, Any]


CLIENT_MESSAGES: dict[str, type[Message]] = {
    "hello": Hello,
    "op": OpBatch,
    "undo": Undo,
    "redo": Redo,
    "presence": PresenceIn,
    "preview": PreviewIn,
    "seen": Seen,
}
SERVER_MESSAGES: dict[str, type[Message]] = {
    "state": State,
    "catchup": Catchup,
    "ops": Ops,
    "ack": Ack,
    "reject": Reject,
    "error": Error,
    "join": Join,
    "leave": Leave,
    "presence": PresenceOut,
    "preview": PreviewOut,
    "event": Event,
}


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, one per message and direction."""
    out: dict[str, dict[str, Any]] = {}
    for direction, models in (("client", CLIENT_MESSAGES), ("server", SERVER_MESSAGES)):
        for name, model in models.items():
            schema = model.model_json_schema()
            schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
            schema["$id"] = f"https://orlume.app/schemas/sync/{direction}.{name}.json"
            out[f"{direction}.{name}.schema.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas() -> list[Path]:
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = SCHEMA_DIR / name
        path.write_text(render(schema))
        written.append(path)
    return written
