# A nested ExceptionGroup, never caught: boxed tracebacks with `+-+---` and `| ` prefixes.
print("level=info msg=\"running checks\"", flush=True)


def check(n):
    raise ValueError(f"check {n} failed")


def run():
    errors = []
    for n in range(2):
        try:
            check(n)
        except ValueError as error:
            errors.append(error)
    try:
        raise ExceptionGroup("inner checks", [TypeError("bad type")])
    except ExceptionGroup as group:
        errors.append(group)
    raise ExceptionGroup("checks failed", errors)


run()
