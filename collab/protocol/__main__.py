"""`python -m collab.protocol` rewrites the JSON Schemas from the message models."""

from collab.protocol import write_schemas

for path in write_schemas():
    print(path)
