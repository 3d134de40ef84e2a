# A plugin that does not compile: the SyntaxError shows the line and a caret under the fault.
print("level=info msg=\"loading plugin\"", flush=True)
exec(compile("def handler(:\n    pass\n", "plugin.py", "exec"))
