"""awslambdaric handlers used by the lambda-sim integration tests (_HANDLER=handlers.<name>)."""

import os
import signal
import time


def ok(event, context):
    """Succeeds, echoing the event."""
    return {"ok": True, "event": event}


def print_event(event, context):
    """Prints the event as JSON (one line) and returns it."""
    import json

    print("event: " + json.dumps(event), flush=True)
    return event


def raise_error(event, context):
    """Raises an unhandled exception (the runtime reports it through /error)."""
    raise ValueError("boom")


def sleep(event, context):
    """Sleeps event["seconds"] seconds, then succeeds."""
    seconds = float(event["seconds"])
    time.sleep(seconds)
    return {"slept": seconds}


def crash(event, context):
    """Exits the runtime process immediately with event["code"] (default 3)."""
    os._exit(int(event.get("code", 3)))


def kill_self(event, context):
    """Kills the runtime process with SIGKILL."""
    os.kill(os.getpid(), signal.SIGKILL)


def _as_dict(value):
    """Turns an awslambdaric context object (or dict) into a plain dict; None stays None."""
    if value is None or isinstance(value, dict):
        return value
    slots = getattr(type(value), "__slots__", ())
    return {name: getattr(value, name, None) for name in slots}


def client_context(event, context):
    """Returns the client context the invoker supplied (all fields None when absent)."""
    cc = context.client_context
    if cc is None:
        return {"custom": None, "env": None, "client": None}
    return {
        "custom": getattr(cc, "custom", None),
        "env": getattr(cc, "env", None),
        "client": _as_dict(getattr(cc, "client", None)),
    }


def remaining(event, context):
    """Returns the milliseconds left before the invoke deadline."""
    return context.get_remaining_time_in_millis()


def env(event, context):
    """Returns the requested environment variables (None when unset)."""
    return {name: os.environ.get(name) for name in event["names"]}


def context_info(event, context):
    """Returns the static fields of the context object."""
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
    }


def print_lines(event, context):
    """Prints event["n"] numbered lines to stdout, then returns n."""
    n = int(event["n"])
    for i in range(n):
        print(f"line {i}", flush=True)
    return n


def big(event, context):
    """Returns a string of event["size"] characters."""
    return "x" * int(event["size"])
