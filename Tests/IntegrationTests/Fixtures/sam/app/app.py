"""Handlers of the SAM template fixtures (served from a template with awslambdaric)."""

import os


def echo(event, context):
    """Returns the event, the function's identity and the variables the template sets."""
    names = ["GREETING", "STACK", "STAGE", "SELF_ARN", "LABEL", "MODE", "OTHER", "FROM_ENV_FILE"]
    return {
        "event": event,
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "env": {name: os.environ.get(name) for name in names},
    }
