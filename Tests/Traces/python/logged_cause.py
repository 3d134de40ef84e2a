# logging.exception after `raise ... from ...`: the log line, then two tracebacks joined by
# "The above exception was the direct cause of the following exception:".
import json
import logging
import sys

logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s %(message)s")
log = logging.getLogger("checkout")
print(json.dumps({"level": "info", "msg": "request received"}), flush=True)


def load(key):
    return {}[key]


try:
    try:
        load("user")
    except KeyError as error:
        raise ValueError("no such user") from error
except ValueError:
    log.exception("request failed")
