"""awslambdaric handler module for the freeze tests (_HANDLER=freeze_ticker.handler).

At import, before the runtime's first /next, it forks a child and starts a thread of the runtime process
itself. Each appends one byte to a file in $FREEZE_TICK_DIR ("child", "thread") about every 20 ms, so a
file's size counts the ticks that ran.
"""

import os
import threading
import time

TICK_DIR = os.environ["FREEZE_TICK_DIR"]
INTERVAL_SECONDS = 0.02


def _tick(path, keep_going):
    """Appends a byte to `path` every INTERVAL_SECONDS while keep_going() holds."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    while keep_going():
        os.write(fd, b".")
        time.sleep(INTERVAL_SECONDS)


_RUNTIME_PID = os.getpid()
_CHILD_PID = os.fork()
if _CHILD_PID == 0:
    # The child ticks until the runtime is gone (it is then reparented), and never runs the runtime's code.
    try:
        _tick(os.path.join(TICK_DIR, "child"), lambda: os.getppid() == _RUNTIME_PID)
    finally:
        os._exit(0)

threading.Thread(target=_tick, args=(os.path.join(TICK_DIR, "thread"), lambda: True), daemon=True).start()


def handler(event, context):
    """Sleeps event["sleepMs"] milliseconds (default 0) and returns the runtime's and the child's pids."""
    time.sleep(int(event.get("sleepMs", 0)) / 1000)
    return {"pid": os.getpid(), "child": _CHILD_PID}
