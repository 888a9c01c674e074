"""Handler module whose import fails, to exercise init errors (Runtime.ImportModuleError)."""

import does_not_exist_module_xyz  # noqa: F401  (intentionally missing)


def handler(event, context):
    """Never reached: importing this module raises ImportError."""
    return {"unreachable": True}
