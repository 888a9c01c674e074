"""awslambdaric handlers for the lambda-sim Telemetry API tests (_HANDLER=telemetry_handlers.<name>)."""

import sys


def hello(event, context):
    """Prints one line, then returns the environment's log stream (the Telemetry API's instanceId)."""
    print("hello from the handler", flush=True)
    return {"logStream": context.log_stream_name}


def flood(event, context):
    """Prints event["n"] numbered lines to stdout in a few large writes, then returns n."""
    n = int(event["n"])
    for i in range(n):
        print(f"flood {i}")
    sys.stdout.flush()
    return n
