"""Handlers for Lambda Managed Instances tests: awslambdaric runs them in N worker processes at once."""

import os
import time

_WATCHED = (
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_FORMAT",
    "_LAMBDA_TELEMETRY_LOG_FD_PROVIDER_SOCKET",
)


def work(event, context):
    """Prints a line, optionally sleeps or raises, and says which worker ran which invoke."""
    tag = event.get("tag")
    print(f"worker {os.getpid()} starts {tag}", flush=True)
    time.sleep(event.get("sleep", 0))
    if event.get("raise"):
        raise ValueError(f"boom {tag}")
    print(f"worker {os.getpid()} ends {tag}", flush=True)
    return {
        "tag": tag,
        "pid": os.getpid(),
        "requestId": context.aws_request_id,
        "env": {name: os.environ.get(name) for name in _WATCHED},
    }
