"""awslambdaric handlers for the freeze tests' memory checks (_HANDLER=freeze_memory.<name>)."""

import os


def noop(event, context):
    """Does nothing: its invoke measures the runtime's baseline memory."""
    return {"pid": os.getpid()}


def allocate(event, context):
    """Allocates event["mb"] MiB and writes every byte (so every page is resident), then frees it."""
    size = int(event["mb"]) * 1024 * 1024
    block = bytearray(b"\x01") * size
    touched = len(block)
    del block
    return {"allocated": touched}
