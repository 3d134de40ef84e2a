# An exception raised while handling another, never caught: "During handling of the above
# exception, another exception occurred:".
print("level=info msg=\"computing ratio\"", flush=True)
try:
    ratio = 1 / 0
except ZeroDivisionError:
    raise RuntimeError("cannot compute the ratio")
