"""Hello-world Python function for lambda-sim, run through awslambdaric (see ./bootstrap)."""


def handler(event, context):
    """Greets the event's "name" and reports a few context fields."""
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    print(f"python handler invoked for {name!r} (request {context.aws_request_id})")
    return {
        "message": f"Hello, {name}!",
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "remainingMs": context.get_remaining_time_in_millis(),
    }


def work(event, context):
    """Waits as a function calling another service would (40 ms, or the event's "ms"), then answers."""
    import time

    milliseconds = event.get("ms", 40) if isinstance(event, dict) else 40
    time.sleep(milliseconds / 1000)
    return {"waitedMs": milliseconds, "requestId": context.aws_request_id}
