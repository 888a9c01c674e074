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


def proxy(event, context):
    """A proxy response echoing the event as its body; ?status=N sets the status, ?binary=1 answers 256 bytes."""
    import base64
    import json

    params = event.get("queryStringParameters") or {}
    if params.get("binary"):
        return {
            "statusCode": 200,
            "headers": {"content-type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": int(params.get("status", "200")),
        "headers": {"content-type": "application/json", "x-handler": "proxy"},
        "multiValueHeaders": {"x-multi": ["a", "b"]},
        "cookies": ["s=1; Path=/", "t=2"],
        "body": json.dumps(event),
    }


def bare(event, context):
    """Returns a bare string (payload format 2.0 makes it a 200 JSON body)."""
    return "hello"


def fail(event, context):
    """Raises: a function error."""
    raise RuntimeError("handler failed")
