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


def http(event, context):
    """Answers an API Gateway or Function URL event with a proxy response naming the route and path."""
    import json

    context_http = event.get("requestContext", {}).get("http", {})
    path = event.get("rawPath") or event.get("path")
    method = context_http.get("method") or event.get("httpMethod")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"route": event.get("routeKey") or event.get("resource"), "method": method, "path": path}),
    }
