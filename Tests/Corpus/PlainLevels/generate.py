#!/usr/bin/env python3
"""Builds plain-levels.tsv: plain log lines labelled with the level their format gives them.

Each line is `<label>\t<line>`; the label is one of trace, debug, info, warn, error, fatal or
none (the format carries no level there). Most lines are written by the real programs, run
here on loopback in a scratch directory (nginx, PostgreSQL, uWSGI, rsyslog with `logger`, Python's
logging, Go's log package, java.util.logging, gcc and coreutils, Node.js); their label is read from
the format's own level field by a parser written for that one format. logback, log4j and Spring
Boot lines follow their documented default patterns (no JVM logging library is installable here
without a network). Ordinary prose that uses level words, and the first lines of exceptions, are
written by hand.

Run by a developer (needs root for PostgreSQL's postgres user, and the Debian packages nginx-light,
postgresql, uwsgi-core, uwsgi-plugin-python3, rsyslog, golang-go, a JDK, gcc, node); the output is
committed and CI only reads it.

    python3 Tests/Corpus/PlainLevels/generate.py > Tests/Corpus/PlainLevels/plain-levels.tsv
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

random.seed(20261206)
WORK = tempfile.mkdtemp(prefix="plain-levels-")
os.chmod(WORK, 0o755)  # nginx workers (nobody) and PostgreSQL (postgres) reach into it
HERE = os.path.dirname(os.path.abspath(__file__))

LEVELS = {
    "trace": "trace", "finest": "trace", "finer": "trace",
    "debug": "debug", "fine": "debug", "debug1": "debug", "debug2": "debug", "debug3": "debug", "debug4": "debug", "debug5": "debug",
    "info": "info", "notice": "info", "log": "info", "config": "info",
    "warn": "warn", "warning": "warn",
    "error": "error", "severe": "error",
    "crit": "fatal", "critical": "fatal", "alert": "fatal", "emerg": "fatal", "fatal": "fatal", "panic": "fatal",
}

out = []


def emit(label, line):
    line = line.rstrip("\n")
    if line.strip() and "\t" not in line:
        out.append((label, line))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2):
    try:
        urllib.request.urlopen(url, timeout=timeout).read()
    except Exception:
        pass


MESSAGES = [
    "user {u} logged in", "order {n} shipped", "cache miss for key session:{n}", "retrying request {n} after error",
    "no errors found in batch {n}", "warning threshold reached: {n}% disk used", "fatal flaw in plan {n}? no",
    "connection to db-{n} established", "payment {n} declined by issuer", "rebuilding index {n}", "request {n} took {m} ms",
    "job {n} failed: timeout after {m}s", "config reloaded from /etc/app/app.yaml", "listening on 0.0.0.0:{n}",
    "scheduled cleanup of {n} sessions", "queue depth is {n}", "skipping invalid record {n}", "alert rule {n} fired",
    "debug mode is off", "trace {n} completed in {m} ms", "critical section entered by worker {n}",
    "could not open /var/data/{n}.db: permission denied", "upstream returned 503 for /api/v1/items/{n}",
    "gc pause {m} ms", "migrated {n} rows", "token for client {n} expires in {m}s", "all fine here",
]


def message():
    return random.choice(MESSAGES).format(u=random.choice(["jane", "bob", "ops", "svc-batch"]), n=random.randint(1, 99999), m=random.randint(1, 5000))


# --- Python logging (real), with the formats its documentation and common frameworks use -----
def python_logging():
    script = os.path.join(WORK, "py_logging.py")
    with open(script, "w") as f:
        f.write(r'''
import logging, random, sys
random.seed(7)
formats = [
    None,  # basicConfig's default: LEVEL:name:message
    "%(asctime)s - %(name)s - %(levelname)s - %(message)s",
    "%(asctime)s %(levelname)-8s %(message)s",
    "[%(asctime)s] %(levelname)s in %(module)s: %(message)s",
    "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
    "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s",
    "%(levelname)s %(asctime)s %(name)s %(message)s",
]
messages = sys.argv[1:]
levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
for index, fmt in enumerate(formats):
    logger = logging.getLogger(["root", "app.db", "worker", "api.handlers", "celery.task", "airflow.task", "svc"][index])
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(fmt) if fmt else logging.Formatter(logging.BASIC_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    for n in range(60):
        level = random.choice(levels)
        print("LABEL", logging.getLevelName(level), file=sys.stderr, flush=True)
        logger.log(level, messages[(index * 60 + n) % len(messages)])
        sys.stdout.flush()
''')
    messages = [message() for _ in range(500)]
    run = subprocess.run([sys.executable, script] + messages, capture_output=True, text=True, check=True)
    labels = [line.split()[1].lower() for line in run.stderr.splitlines() if line.startswith("LABEL")]
    for label, line in zip(labels, run.stdout.splitlines()):
        emit(LEVELS[label], line)


# --- Go's log package (real): no levels, unless the app writes one --------------------------
def go_log():
    directory = os.path.join(WORK, "golog")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "main.go"), "w") as f:
        f.write(r'''package main

import (
	"fmt"
	"log"
	"math/rand"
	"os"
)

func main() {
	rand.Seed(11)
	msgs := os.Args[1:]
	for i := 0; i < 240; i++ {
		m := msgs[i%len(msgs)]
		switch i % 6 {
		case 0:
			log.SetFlags(log.LstdFlags)
			fmt.Fprintln(os.Stderr, "LABEL none")
			log.Print(m)
		case 1:
			log.SetFlags(log.LstdFlags | log.Lshortfile)
			fmt.Fprintln(os.Stderr, "LABEL none")
			log.Printf("%s", m)
		case 2:
			log.SetFlags(log.LstdFlags | log.Lmicroseconds)
			levels := []string{"ERROR", "WARN", "INFO", "DEBUG"}
			l := levels[rand.Intn(len(levels))]
			fmt.Fprintln(os.Stderr, "LABEL", l)
			log.Printf("%s: %s", l, m)
		case 3:
			log.SetFlags(log.LstdFlags)
			levels := []string{"[ERROR]", "[WARN]", "[INFO]", "[DEBUG]", "[TRACE]"}
			l := levels[rand.Intn(len(levels))]
			fmt.Fprintln(os.Stderr, "LABEL", l[1:len(l)-1])
			log.Printf("%s %s", l, m)
		case 4:
			log.SetFlags(log.LstdFlags)
			fmt.Fprintln(os.Stderr, "LABEL none")
			log.Printf("http: TLS handshake error from 10.0.%d.%d:%d: EOF", rand.Intn(255), rand.Intn(255), 40000+rand.Intn(20000))
		case 5:
			log.SetFlags(0)
			log.SetPrefix("")
			fmt.Fprintln(os.Stderr, "LABEL none")
			log.Printf("listening on :%d", 8000+i)
		}
	}
}
''')
    subprocess.run(["go", "build", "-o", "golog", "main.go"], cwd=directory, check=True, env=dict(os.environ, GOCACHE=os.path.join(WORK, "gocache"), GO111MODULE="off"))
    messages = [message() for _ in range(100)]
    run = subprocess.run([os.path.join(directory, "golog")] + messages, capture_output=True, text=True)
    labels, lines = [], []
    for line in run.stderr.splitlines():
        (labels if line.startswith("LABEL") else lines).append(line)
    for label, line in zip(labels, lines):
        word = label.split()[1].lower()
        emit(LEVELS.get(word, "none"), line)


# --- java.util.logging (real): SimpleFormatter's two-line default and a one-line format ------
def java_logging():
    directory = os.path.join(WORK, "jul")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "Jul.java"), "w") as f:
        f.write(r'''
import java.util.logging.*;
public class Jul {
    public static void main(String[] args) throws Exception {
        Logger logger = Logger.getLogger("com.example.billing.InvoiceService");
        logger.setUseParentHandlers(false);
        ConsoleHandler handler = new ConsoleHandler();
        handler.setLevel(Level.ALL);
        logger.addHandler(handler);
        logger.setLevel(Level.ALL);
        Level[] levels = { Level.SEVERE, Level.WARNING, Level.INFO, Level.CONFIG, Level.FINE, Level.FINER, Level.FINEST };
        java.util.Random random = new java.util.Random(3);
        for (int i = 0; i < 150; i++) {
            Level level = levels[random.nextInt(levels.length)];
            System.out.println("LABEL " + level.getName());
            System.out.flush();
            logger.log(level, args[i % args.length]);
            System.err.flush();
            Thread.sleep(1);
        }
    }
}
''')
    subprocess.run(["javac", "Jul.java"], cwd=directory, check=True)
    messages = [message() for _ in range(100)]
    for fmt in [None, "[%1$tF %1$tT] [%4$-7s] %5$s %n"]:
        command = ["java", "-cp", directory] + ([f"-Djava.util.logging.SimpleFormatter.format={fmt}"] if fmt else []) + ["Jul"] + messages
        run = subprocess.run(command, capture_output=True, text=True, check=True)
        labels = [line.split()[1].lower() for line in run.stdout.splitlines()]
        lines = run.stderr.splitlines()
        if fmt is None:
            # Two lines per record: "<date> <class> <method>" (no level), then "LEVEL: message".
            for index, label in enumerate(labels):
                emit("none", lines[2 * index])
                emit(LEVELS[label], lines[2 * index + 1])
        else:
            for label, line in zip(labels, lines):
                emit(LEVELS[label], line)


# --- logback, log4j, Spring Boot: their documented default patterns -----------------------------
def jvm_patterns():
    threads = ["main", "http-nio-8080-exec-3", "pool-2-thread-1", "scheduling-1", "kafka-consumer-7"]
    classes = ["com.example.App", "c.e.billing.InvoiceService", "o.s.web.servlet.DispatcherServlet", "org.hibernate.SQL", "com.zaxxer.hikari.HikariPool"]
    levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
    for n in range(320):
        level = random.choice(levels)
        thread, cls, msg = random.choice(threads), random.choice(classes), message()
        hh, mm, ss, ms = random.randint(0, 23), random.randint(0, 59), random.randint(0, 59), random.randint(0, 999)
        time_ = f"{hh:02}:{mm:02}:{ss:02}.{ms:03}"
        kind = n % 4
        if kind == 0:  # logback's documented console pattern
            line = f"{time_} [{thread}] {level:<5} {cls} - {msg}"
        elif kind == 1:  # Spring Boot 3's default console pattern
            line = f"2026-12-06T{time_}Z {level:>5} {random.randint(1, 32767)} --- [{thread[:15]:>15}] {cls:<40} : {msg}"
        elif kind == 2:  # log4j 2's default PatternLayout in the docs
            line = f"{time_} [{thread}] {level:<5} {cls[-36:]} - {msg}"
        else:  # log4j 1's "%d [%t] %-5p %c - %m%n"
            line = f"2026-12-06 {time_.replace('.', ',')} [{thread}] {level:<5} {cls} - {msg}"
        emit(LEVELS[level.lower()], line)


# --- nginx (real): access log (no level) and error log ([level]) ----------------------------
def nginx():
    directory = os.path.join(WORK, "nginx")
    root = os.path.join(directory, "html")
    os.makedirs(os.path.join(root, "private"), exist_ok=True)
    os.chmod(os.path.join(root, "private"), 0)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("hello\n")
    port = free_port()
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off;
master_process on;
worker_processes 1;
user nobody nogroup;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {directory}/access.log combined;
    client_body_temp_path {directory}/body; proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fcgi; uwsgi_temp_path {directory}/uwsgi; scgi_temp_path {directory}/scgi;
    server {{ listen 127.0.0.1:{port}; server_name example.test; root {root};
        location /api/ {{ proxy_pass http://unix:{directory}/missing.sock; }}
        location /slow/ {{ proxy_pass http://127.0.0.1:9; proxy_connect_timeout 1s; }}
    }}
    server {{ listen 127.0.0.1:{port}; server_name example.test; }}
}}
""")
    os.chmod(directory, 0o755)
    nginx = subprocess.Popen(["nginx", "-c", conf, "-e", f"{directory}/error.log"], stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    paths = ["/", "/index.html", "/missing.png", "/private/x", "/api/users", "/api/orders/17", "/favicon.ico", "/wp-login.php", "/.env", "/slow/x"]
    agents = ["curl/7.88.1", "Mozilla/5.0 (X11; Linux x86_64)", "kube-probe/1.29", "Go-http-client/1.1", "python-requests/2.31.0"]
    for n in range(320):
        path = random.choice(paths) + ("?q=%d" % n if n % 7 == 0 else "")
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-A", random.choice(agents), "--max-time", "3", f"http://127.0.0.1:{port}{path}"])
    nginx.send_signal(signal.SIGQUIT)
    _, stderr = nginx.communicate(timeout=10)
    bad = os.path.join(directory, "bad.conf")
    with open(bad, "w") as f:
        f.write("events {}\nhttp { server { listn 80; } }\n")
    test = subprocess.run(["nginx", "-t", "-c", bad, "-e", f"{directory}/test.log"], capture_output=True, text=True)
    for line in open(os.path.join(directory, "access.log")):
        emit("none", line)
    for line in list(open(os.path.join(directory, "error.log"))) + test.stderr.splitlines() + stderr.splitlines():
        level = re.search(r"\[(debug|info|notice|warn|error|crit|alert|emerg)\]", line)
        emit(LEVELS[level.group(1)] if level else "none", line)


# --- PostgreSQL (real): log_line_prefix '%m [%p] %q%u@%d ', severities from DEBUG1 to FATAL -----
def postgresql():
    directory = os.path.join(WORK, "pg")
    os.makedirs(directory)
    shutil.chown(directory, "postgres")
    import pwd
    account = pwd.getpwnam("postgres")

    def demote():
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)

    binaries = "/usr/lib/postgresql/15/bin"
    subprocess.run([f"{binaries}/initdb", "-D", f"{directory}/data", "-A", "trust"], capture_output=True, check=True, preexec_fn=demote)
    port = free_port()
    server = subprocess.Popen([
        f"{binaries}/postgres", "-D", f"{directory}/data", "-p", str(port), "-k", directory, "-c", "listen_addresses=",
        "-c", "log_line_prefix=%m [%p] %q%u@%d ", "-c", "log_min_messages=debug1", "-c", "log_statement=all",
        "-c", "log_min_error_statement=error", "-c", "log_connections=on",
    ], stderr=subprocess.PIPE, text=True, preexec_fn=demote)
    time.sleep(2)
    psql = [f"{binaries}/psql", "-h", directory, "-p", str(port), "-X", "-q"]
    statements = [
        "SELECT 1;", "SELECT * FROM users;", "CREATE TABLE IF NOT EXISTS t (id int primary key, name text);",
        "INSERT INTO t VALUES (1, 'a');", "INSERT INTO t VALUES (1, 'dup');", "SELECT 1/0;", "COMMIT;", "ROLLBACK;",
        "DROP TABLE IF EXISTS nope;", "SELEC 1;", "SELECT pg_sleep(0.01);", "VACUUM t;", "ANALYZE t;",
        "SELECT 'x'::int;", "UPDATE t SET name = 'b' WHERE id = 1;", "CREATE INDEX ON t (name);",
    ]
    for n in range(60):
        sql = " ".join(random.choice(statements) for _ in range(3))
        subprocess.run(psql + ["-d", "postgres", "-c", sql], capture_output=True, preexec_fn=demote)
    for database in ["nope", "postgres"]:
        subprocess.run([f"{binaries}/psql", "-h", directory, "-p", str(port), "-U", "ghost", "-d", database, "-c", "select 1"], capture_output=True, preexec_fn=demote)
    server.send_signal(signal.SIGINT)
    _, stderr = server.communicate(timeout=30)
    lines = stderr.splitlines()
    # Keep the corpus balanced: at most 200 DEBUG lines of the many the server writes.
    debug = [line for line in lines if " DEBUG" in line[:60]]
    keep = set(random.sample(debug, min(200, len(debug))))
    for line in lines:
        if " DEBUG" in line[:60] and line not in keep:
            continue
        match = re.match(r"\S+ \S+ \S+ \[\d+\] (?:\S*@\S* )?([A-Z]+[0-9]?):  ", line)
        label = LEVELS.get(match.group(1).lower(), "none") if match else "none"
        emit(label, line)


# --- uWSGI (real): its own log lines and request lines ---------------------------------------
def uwsgi():
    directory = os.path.join(WORK, "uwsgi")
    os.makedirs(directory)
    with open(os.path.join(directory, "app.py"), "w") as f:
        f.write("def application(env, start_response):\n"
                "    if env['PATH_INFO'] == '/boom':\n        raise RuntimeError('config load failed')\n"
                "    start_response('200 OK' if env['PATH_INFO'] != '/missing' else '404 Not Found', [('Content-Type', 'text/plain')])\n"
                "    return [b'ok']\n")
    port = free_port()
    server = subprocess.Popen([
        "uwsgi", "--plugin", "python3", "--http-socket", f"127.0.0.1:{port}", "--wsgi-file", f"{directory}/app.py",
        "--master", "--processes", "2", "--disable-logging" if False else "--log-date", "--chdir", directory,
    ], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    time.sleep(2)
    for n in range(120):
        get(f"http://127.0.0.1:{port}/{random.choice(['', 'users', 'missing', 'health', 'boom'])}")
    server.send_signal(signal.SIGINT)
    _, stderr = server.communicate(timeout=20)
    for line in stderr.splitlines():
        if line.startswith(("Traceback", "  File", "    ")):
            continue  # the traceback's frames: the multiline tests' concern
        if re.match(r"^\w*Error: ", line):
            emit("error", line)
        elif "*** WARNING" in line:
            emit("warn", line)
        else:
            emit("none", line)


# --- syslog (real rsyslog, traditional file format) and glibc programs' messages ----------
def syslog_and_programs():
    directory = os.path.join(WORK, "rsyslog")
    os.makedirs(directory)
    socket_path = os.path.join(directory, "log.sock")
    conf = os.path.join(directory, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(f'global(workDirectory="{directory}")\n'
                f'module(load="imuxsock" SysSock.Use="off")\ninput(type="imuxsock" Socket="{socket_path}")\n'
                f'action(type="omfile" file="{directory}/messages" template="RSYSLOG_TraditionalFileFormat")\n')
    server = subprocess.Popen(["rsyslogd", "-n", "-f", conf, "-i", f"{directory}/pid"], stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    entries = [
        ("sshd[{p}]", "none", "Accepted publickey for deploy from 10.0.{a}.{b} port {port} ssh2: ED25519 SHA256:Xk3{p}"),
        ("sshd[{p}]", "error", "error: kex_exchange_identification: Connection closed by remote host"),
        ("sshd[{p}]", "none", "Connection closed by authenticating user root 10.0.{a}.{b} port {port} [preauth]"),
        ("sshd[{p}]", "none", "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)"),
        ("CRON[{p}]", "none", "(root) CMD (   cd / && run-parts --report /etc/cron.hourly)"),
        ("systemd[1]", "none", "Started Session {p} of User deploy."),
        ("systemd[1]", "none", "nginx.service: Main process exited, code=exited, status=1/FAILURE"),
        ("kernel", "none", "[{p}.{a}] EXT4-fs error (device sda1): ext4_lookup:1855: inode #{p}: comm ls: deleted inode referenced"),
        ("kernel", "none", "[{p}.{a}] Out of memory: Killed process {p} (java) total-vm:{port}kB"),
        ("postfix/smtp[{p}]", "warn", "warning: hostname mail{a}.example.net does not resolve to address 10.1.{a}.{b}"),
        ("postfix/smtpd[{p}]", "fatal", "fatal: open database /etc/postfix/virtual.db: No such file or directory"),
        ("postfix/qmgr[{p}]", "none", "4F2A{a}C{b}: removed"),
        ("dockerd[{p}]", "warn", 'time="2026-12-06T14:05:{a:02}.{port}Z" level=warning msg="Health check for container {p} error: timed out"'),
        ("dockerd[{p}]", "info", 'time="2026-12-06T14:05:{a:02}.{port}Z" level=info msg="ignoring event" container={p} module=libcontainerd'),
        ("containerd[{p}]", "error", 'time="2026-12-06T14:05:{a:02}Z" level=error msg="failed to delete shim" error="ttrpc: closed"'),
        ("app[{p}]", "none", "retrying after error: connection reset by peer"),
        ("sudo", "none", "   deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND=/usr/bin/systemctl restart app"),
    ]
    for n in range(260):
        tag, label, text = random.choice(entries)
        values = dict(p=random.randint(100, 99999), a=random.randint(0, 59), b=random.randint(1, 254), port=random.randint(1024, 65535))
        subprocess.run(["logger", "-u", socket_path, "-t", tag.format(**values).split("[")[0] + ("[" + tag.format(**values).split("[")[1] if "[" in tag else ""), "--", text.format(**values)], check=True)
        out_label.append(label)
    time.sleep(1.5)
    server.terminate()
    server.wait(timeout=10)
    lines = open(os.path.join(directory, "messages")).read().splitlines()
    lines = [line for line in lines if "rsyslogd" not in line]
    for label, line in zip(out_label, lines):
        emit(label, line)
    # Real programs' stderr: coreutils (no level) and gcc (file:line:col: error|warning: ...).
    for command in [["ls", "/nonexistent/dir"], ["cat", "/etc/shadow-missing"], ["mkdir", "/proc/x"], ["cp", "/nope", "/tmp/"],
                    ["rm", "/nonexistent"], ["touch", "/proc/nope/x"], ["chmod", "777", "/nope"], ["sort", "/nope"]]:
        run = subprocess.run(command, capture_output=True, text=True)
        for line in run.stderr.splitlines():
            emit("none", line)
    source = os.path.join(WORK, "broken.c")
    with open(source, "w") as f:
        f.write("#include <stdio.h>\nint f(int x) { return x }\nint main(void) { int unused; char *p = 5; printf(\"%d\\n\", \"x\"); return g(); }\n")
    run = subprocess.run(["gcc", "-Wall", "-c", source, "-o", "/dev/null"], capture_output=True, text=True)
    for line in run.stderr.splitlines():
        match = re.match(r"^\S+:\d+:\d+: (error|warning|note): ", line)
        if match:
            emit({"error": "error", "warning": "warn", "note": "none"}[match.group(1)], line)


out_label = []


# --- Exception lines (the first line of a trace is the error) and Node's own messages ------
def exceptions():
    python = subprocess.run([sys.executable, "-c", "\n".join([
        "import sys",
        "errors = [ValueError('invalid literal for int() with base 10: \\'x\\''), KeyError('user_id'), RuntimeError('config load failed'),",
        "  ZeroDivisionError('division by zero'), FileNotFoundError(2, 'No such file or directory'), TimeoutError('timed out')]",
        "for e in errors:",
        "    try:\n        raise e",
        "    except Exception as caught:\n        print(f'{type(caught).__name__}: {caught}')",
    ])], capture_output=True, text=True, check=True)
    for line in python.stdout.splitlines():
        emit("error", line)
    node = subprocess.run(["node", "-e", "\n".join([
        "for (const e of [new TypeError(\"Cannot read properties of undefined (reading 'id')\"), new RangeError('Invalid array length'),",
        "  new Error('ECONNREFUSED 127.0.0.1:5432'), new SyntaxError('Unexpected token } in JSON at position 17')]) console.log(`${e.name}: ${e.message}`)",
        "process.emitWarning('Buffer() is deprecated', 'DeprecationWarning', 'DEP0005')",
        "process.emitWarning('Possible EventEmitter memory leak detected')",
    ])], capture_output=True, text=True)
    for line in node.stdout.splitlines():
        emit("error", line)
    for line in node.stderr.splitlines():
        emit("warn" if "Warning: " in line else "none", line)
    for line in [
        'Exception in thread "main" java.lang.IllegalStateException: pool closed',
        "java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
        "org.postgresql.util.PSQLException: Connection to localhost:5432 refused.",
        "panic: runtime error: index out of range [5] with length 3",
        "panic: assignment to entry in nil map",
        "Unhandled exception. System.InvalidOperationException: Sequence contains no elements",
        "/app/lib/billing.rb:12:in `charge': card declined (Billing::CardError)",
    ]:
        emit("error", line)
    emit("fatal", "fatal error: all goroutines are asleep - deadlock!")


# --- Ordinary prose that uses level words: no level -----------------------------------------
PROSE = [
    "alert sent to ops", "all fine here", "error rate dropped to 0.1% after the deploy", "Warning signs were ignored by the team",
    "fatal attraction is a film from 1987", "debug build finished in 42s", "trace id 7f3a completed", "critical path analysis done",
    "panic button pressed by user 42", "Info desk opens at 9", "errors: 0, warnings: 3",
    "No errors, no warnings.", "the error handler recovered", "finished with 3 errors", "config load took 12ms",
    "fine-tuning model v2", "retrying in 5s (attempt 2 of 5)", "Starting worker pool with 8 threads", "GET /health 200 1ms",
    "Connected to redis at 10.0.0.5:6379", "Shutting down gracefully", "Received SIGTERM, draining connections",
    "processing 1200 events per second", "user jane updated profile", "Deleted 14 expired sessions", "cache warmed: 5000 keys",
    "Error budget remaining: 99.2%", "Emergency contact updated for account 17", "Severe weather warning issued for region 4",
    "Verbose output disabled", "Critical fixes shipped in 2.4.1", "The alert was acknowledged by bob", "information about order 12 sent",
    "warning light on dashboard ignored", "Trace of the request saved to /tmp/req-99.json", "Fatality count: 0",
    "DAMN ! worker 1 (pid: 1235) died, respawning...", "spawned uWSGI worker 2 (pid: 77, cores: 1)",
    "Listening at: http://0.0.0.0:8000 (1)", "Booting worker with pid: 12", "Application startup complete.",
    "Compiled successfully in 1532ms", "webpack 5.88.2 compiled with 2 warnings in 3021 ms", "npm WARN deprecated request@2.88.2",
    "  at Object.<anonymous> (/app/index.js:3:9)", "Done in 4.21s.", "Migrating database... ok", "Seeding 100 users",
]


# Formats whose level sits where the guesser does not look (Redis's level characters, Erlang's
# reports, Elasticsearch's glued brackets), as their documentation shows them: they count against
# recall, as they should. And application output with level words in ordinary places.
OTHER_FORMATS = [
    ("warn", "1:M 06 Dec 2026 14:05:30.123 # WARNING overcommit_memory is set to 0! Background save may fail under low memory condition."),
    ("info", "1:M 06 Dec 2026 14:05:30.124 * Ready to accept connections tcp"),
    ("info", "1:C 06 Dec 2026 14:05:30.100 * Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=1, just started"),
    ("debug", "1:M 06 Dec 2026 14:05:31.001 . DB 0: 12 keys (0 volatile) in 16 slots HT."),
    ("error", "=ERROR REPORT==== 6-Dec-2026::14:05:30.123456 ==="),
    ("info", "=INFO REPORT==== 6-Dec-2026::14:05:30.123456 ==="),
    ("warn", "[2026-12-06T14:05:30,123][WARN ][o.e.c.r.a.DiskThresholdMonitor] [node-1] high disk watermark [90%] exceeded on [abc][node-1]"),
    ("info", "[2026-12-06T14:05:30,456][INFO ][o.e.n.Node               ] [node-1] started"),
    ("info", "[2026-12-06 14:05:30,123] INFO [KafkaServer id=0] started (kafka.server.KafkaServer)"),
    ("warn", "[2026-12-06 14:05:31,456] WARN [Producer clientId=producer-1] Connection to node -1 (localhost/127.0.0.1:9092) could not be established. (org.apache.kafka.clients.NetworkClient)"),
    ("info", "[Sun Dec 06 14:05:30.123456 2026] [mpm_event:notice] [pid 1:tid 140] AH00489: Apache/2.4.57 (Unix) configured -- resuming normal operations"),
    ("error", "[Sun Dec 06 14:05:31.123456 2026] [proxy:error] [pid 9:tid 141] (111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:8080 (127.0.0.1:8080) failed"),
    ("none", "Started GET \"/orders/17\" for 127.0.0.1 at 2026-12-06 14:05:30 +0000"),
    ("none", "Completed 500 Internal Server Error in 12ms (ActiveRecord: 1.2ms | Allocations: 1402)"),
    ("none", "Processing by OrdersController#show as HTML"),
    ("none", "Dec  6 14:05:30 lb1 haproxy[123]: Server backend/web1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\""),
    ("none", "10.0.0.1 - frank [06/Dec/2026:14:05:30 +0000] \"GET /apache_pb.gif HTTP/1.0\" 200 2326"),
    ("none", "127.0.0.1 - - [06/Dec/2026 14:05:30] \"GET /error HTTP/1.1\" 500 -"),
    ("none", "GET /api/errors?level=debug 200 3.2ms"),
    ("none", "POST /v1/alerts 202 Accepted in 4ms"),
    ("none", "Request failed with error: connection reset"),
    ("none", "Retry 3/5: ERROR responses from upstream are retried"),
    ("none", "Deploying version 2.4.1 (fixes: error handling, warning banner)"),
    ("none", "Loaded 12 plugins: auth, cache, error-pages, metrics"),
    ("none", "Worker 3 finished: 0 errors, 2 warnings, 1500 items"),
    ("none", "Sending alert email to oncall@example.com"),
    ("none", "Fine-grained access enabled for bucket logs-archive"),
    ("none", "Configuration: debug=false, trace_sampling=0.1"),
    ("none", "Panic mode disabled for region eu-west-1"),
    ("none", "Critical section took 12ms"),
    ("none", "Information schema refreshed"),
    ("none", "Notice period for user 17 starts today"),
    ("none", "Severe weather alert feed polled: 3 new items"),
    ("none", "Emergency stop test passed"),
    ("none", "Verbose flag ignored in production"),
    ("none", "Error pages rebuilt in 1.2s"),
    ("none", "Warnings are treated as errors in CI"),
    ("none", "Tracing enabled: exporter=otlp endpoint=http://collector:4318"),
    ("none", "Debugging session 42 attached"),
    ("none", "Fatal-error handler installed"),
    ("none", "INFO and DEBUG messages are filtered at the collector"),
    ("none", "User reported: \"ERROR 500 when saving\""),
    ("none", "Health: ok (db: ok, cache: ok, queue: degraded)"),
    ("none", "Shutting down: received signal terminated"),
    ("none", "Waiting for postgres at db:5432..."),
    ("none", "=> Booting Puma"),
    ("none", "* Listening on http://0.0.0.0:3000"),
    ("none", "Use Ctrl-C to stop"),
    ("none", "[nodemon] restarting due to changes..."),
    ("none", "[nodemon] starting `node server.js`"),
    ("none", "> app@1.0.0 start"),
    ("none", "ready - started server on 0.0.0.0:3000, url: http://localhost:3000"),
    ("none", "wait  - compiling /page (client and server)..."),
    ("none", "event - compiled client and server successfully in 412 ms (210 modules)"),
    ("none", "Successfully built 4b1e2c3d4e5f"),
    ("none", "Step 3/9 : RUN apt-get update"),
    ("none", "Tests: 1 failed, 41 passed, 42 total"),
    ("none", "FAIL src/app.test.js"),
    ("none", "PASS src/util.test.js"),
    ("none", "OK (12 tests, 40 assertions)"),
]


def other_formats():
    for label, line in OTHER_FORMATS:
        emit(label, line)


def prose():
    for line in PROSE:
        if line.startswith("npm WARN"):
            emit("warn", line)
        elif line.startswith("  at "):
            continue
        else:
            emit("none", line)


if __name__ == "__main__":
    try:
        python_logging()
        go_log()
        java_logging()
        jvm_patterns()
        nginx()
        postgresql()
        uwsgi()
        syslog_and_programs()
        exceptions()
        other_formats()
        prose()
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    print("# plain log lines and the level their format gives them (see generate.py); label<TAB>line")
    for label, line in out:
        print(f"{label}\t{line}")
    print(f"{len(out)} lines", file=sys.stderr)
