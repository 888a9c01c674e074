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
