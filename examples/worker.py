#!/usr/bin/env python3
"""An example keel worker: takes `task:` steps from keel and runs them.

Python 3 standard library only. The protocol it speaks is described in
docs/workers.md; this file is meant to be read next to it.

    examples/worker.py --queue echo                       # a built-in handler
    examples/worker.py --queue thumbnails --exec ./make-thumbnail.sh

Built-in handlers, chosen by queue name when --exec is not given:
  echo   the output is the task's input, as it is
  sleep  waits input["seconds"] (default 1), then outputs {"slept": seconds}
  fail   fails with input["class"] (default "error") and input["message"]
Any other queue needs --exec.

--exec CMD runs CMD with /bin/sh for each task: the task's input JSON on its
stdin, and KEEL_TASK_ID, KEEL_TASK_QUEUE, KEEL_TASK_ATTEMPT, KEEL_RUN_ID,
KEEL_STEP and KEEL_IDEMPOTENCY_KEY (the same for every attempt of a step: use
it to make side effects happen once) in its environment, and TRACEPARENT, the
task's `traceparent` (the run's trace, the attempt's span: an OpenTelemetry
SDK in CMD picks it up as its parent). Exit 0: the task is
completed, its stdout is the output (JSON, or {"stdout": TEXT} when stdout is
not JSON). Any other exit: the task fails with class "error" and the end of
stderr as the message. stderr is sent as the task's log either way.

The task's traceparent is also written on the worker's log line for the task
and sent with its report, so the report is a span of the same trace.

Tasks are done one at a time. While a task is held, a thread heartbeats it
every third of its lease. SIGTERM or SIGINT: finish the task in hand (or the
poll under way) and exit 0; a second signal exits at once.
"""
import argparse
import datetime
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

DEFAULT_SERVER = "http://127.0.0.1:7070"  # as the keel CLI
DEFAULT_TOKEN_FILE = "keel.db.token"  # written by `keel serve --db ./keel.db`
TAIL = 4000  # characters of stderr kept as a failure's message
LOG_CAP = 256 * 1024  # characters of stderr sent as the log


def log(line):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S")
    print(f"{stamp} {line}", file=sys.stderr, flush=True)


class HttpError(Exception):
    """keel answered with a non-2xx status; `code` is its error code."""

    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class Keel:
    """The API calls. Network trouble raises OSError (URLError is one)."""

    def __init__(self, url, token, ca_file=None):
        self.url = url.rstrip("/")
        self.token = token
        self.ssl = ssl.create_default_context(cafile=ca_file) if ca_file else None

    def call(self, method, path, body=None, timeout=30, traceparent=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if traceparent:
            req.add_header("traceparent", traceparent)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self.ssl) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                error = json.loads(e.read()).get("error", {})
            except ValueError:
                error = {}
            raise HttpError(e.code, error.get("code", ""), error.get("message", e.reason))

    def poll(self, queues, worker, max_tasks, wait_ms):
        body = {"queues": queues, "worker": worker, "max": max_tasks, "wait_ms": wait_ms}
        return self.call("POST", "/api/v1/tasks/poll", body, timeout=wait_ms / 1000 + 30)["tasks"]

    def heartbeat(self, task_id, worker):
        return self.call("POST", f"/api/v1/tasks/{task_id}/heartbeat", {"worker": worker})

    def report(self, task_id, kind, body, traceparent=None):  # kind: "complete" or "fail"
        return self.call("POST", f"/api/v1/tasks/{task_id}/{kind}", body,
                         traceparent=traceparent)


TRACEPARENT_RE = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def traceparent_of(task):
    """The task's traceparent when it is a well-formed one, else None: the value
    goes into an environment and a header, so nothing else is passed on."""
    value = task.get("traceparent")
    return value if isinstance(value, str) and TRACEPARENT_RE.fullmatch(value) else None


def lease_seconds(task):
    """How long the lease runs from now, read from lease_expires_at."""
    expires = datetime.datetime.fromisoformat(task["lease_expires_at"].replace("Z", "+00:00"))
    return (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


class Held:
    """A task this worker holds: heartbeated by a thread until it is reported."""

    def __init__(self, keel, worker, task):
        self.keel, self.worker, self.task = keel, worker, task
        self.lost = threading.Event()  # keel says another worker or nobody holds it now
        self.done = threading.Event()
        self.child = None  # the --exec process, stopped when the lease is lost
        self.thread = threading.Thread(target=self._beat, daemon=True)
        self.thread.start()

    def _beat(self):
        period = max(lease_seconds(self.task) / 3, 0.2)
        while not self.done.wait(period):
            try:
                self.task = self.keel.heartbeat(self.task["id"], self.worker)
                period = max(lease_seconds(self.task) / 3, 0.2)
            except HttpError as e:
                if e.status in (404, 409):  # lease_lost, or no such task any more
                    log(f"{self.task['id']}: lease lost ({e.message}); abandoning the task")
                    self.lost.set()
                    try:
                        if self.child and self.child.poll() is None:
                            os.killpg(self.child.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass  # it has just ended
                    return
                log(f"{self.task['id']}: heartbeat refused: {e}")  # 503: keel is stopping
            except OSError as e:
                log(f"{self.task['id']}: heartbeat failed: {e}")  # keep trying: it may come back

    def finish(self):
        self.done.set()
        self.thread.join()


def run_builtin(task):
    """The built-in handlers: (True, output, log) or (False, failure, log)."""
    queue, data = task["queue"], task["input"]
    if queue == "echo":
        return True, data, ""
    if queue == "sleep":
        seconds = float(data.get("seconds", 1))
        time.sleep(seconds)
        return True, {"slept": seconds}, ""
    if queue == "fail":
        failure = {"class": data.get("class", "error"), "message": data.get("message", "asked to")}
        return False, failure, ""
    return False, {"class": "bad_input", "message": f"no built-in handler for {queue}"}, ""


def run_exec(command, held):
    """Runs --exec CMD for the task: (True, output, log) or (False, failure, log)."""
    task = held.task
    env = {k: v for k, v in os.environ.items() if k not in ("KEEL_TOKEN", "KEEL_TOKEN_FILE")}
    env.update(KEEL_TASK_ID=task["id"], KEEL_TASK_QUEUE=task["queue"] or "",
               KEEL_TASK_ATTEMPT=str(task["attempt"]), KEEL_RUN_ID=task["run_id"],
               KEEL_STEP=task["step"], KEEL_IDEMPOTENCY_KEY=task["idempotency_key"],
               TRACEPARENT=traceparent_of(task) or "")
    # A session of its own: a signal to the worker does not stop the task in
    # hand, and a lost lease stops the command with everything it started.
    held.child = subprocess.Popen(command, shell=True, env=env, start_new_session=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
    stdout, stderr = held.child.communicate(json.dumps(task["input"]).encode())
    err = stderr.decode(errors="replace")
    if held.child.returncode != 0:
        message = err[-TAIL:].strip() or f"exit code {held.child.returncode}"
        return False, {"class": "error", "message": message}, err[-LOG_CAP:]
    text = stdout.decode(errors="replace")
    try:
        output = json.loads(text)
    except ValueError:
        output = {"stdout": text}
    return True, output, err[-LOG_CAP:]


def report(keel, held, ok, result, log_text):
    """Sends the end of the task until keel has it: network errors and 503 are
    retried with backoff (keel answers 200 to a repeated report)."""
    kind = "complete" if ok else "fail"
    body = {"worker": held.worker, "log": log_text}
    body.update({"output": result} if ok else result)
    delay = 0.5
    while True:
        try:
            keel.report(held.task["id"], kind, body, traceparent_of(held.task))
            return kind + "d" if ok else "failed (" + result["class"] + ")"
        except HttpError as e:
            if e.status in (404, 409):
                return f"abandoned: {e.code or e.status}: {e.message}"
            if e.status != 503:
                if ok:  # e.g. an output keel refuses: fail the task instead
                    ok, kind, body = False, "fail", {"worker": held.worker, "log": log_text,
                                                     "class": "error",
                                                     "message": f"keel refused the output: {e}"}
                    continue
                return f"report refused: {e}"
            why = e
        except OSError as e:
            why = e
        log(f"{held.task['id']}: cannot report yet ({why}); again in {delay:.1f}s")
        time.sleep(delay)
        delay = min(delay * 2, 30)


def work(keel, args, held):
    task, started = held.task, time.monotonic()
    try:
        try:
            ok, result, log_text = run_exec(args.exec, held) if args.exec else run_builtin(task)
        except Exception as e:  # a handler's bug fails the task, not the worker
            ok, result, log_text = False, {"class": "error", "message": repr(e)}, ""
        if held.lost.is_set():
            outcome = "abandoned: lease lost"
        else:
            outcome = report(keel, held, ok, result, log_text)
    finally:
        held.finish()
    log(f"{task['id']} (queue {task['queue']}, attempt {task['attempt']}): {outcome} "
        f"in {time.monotonic() - started:.1f}s traceparent={traceparent_of(task) or '-'}")


def read_token(path):
    with open(path) as f:
        return f.readline().strip()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", "--server", default=os.environ.get("KEEL_SERVER", DEFAULT_SERVER),
                   help="keel's URL (default: $KEEL_SERVER or %(default)s)")
    p.add_argument("--token-file", default=os.environ.get("KEEL_TOKEN_FILE"),
                   help="file holding the API token (default: $KEEL_TOKEN, else "
                        "$KEEL_TOKEN_FILE, else ./keel.db.token)")
    p.add_argument("--ca-file", default=os.environ.get("KEEL_CA_FILE"),
                   help="PEM CAs to trust for an https URL (default: $KEEL_CA_FILE)")
    p.add_argument("--queue", action="append", required=True, help="a queue to take tasks "
                   "from (repeatable; earlier queues first)")
    p.add_argument("--worker", default=f"{socket.gethostname()}:{os.getpid()}",
                   help="this worker's name (default: HOSTNAME:PID)")
    p.add_argument("--max", type=int, default=1, help="tasks leased per poll (default 1)")
    p.add_argument("--wait-ms", type=int, default=30000, help="how long a poll waits for a "
                   "task, at most 60000 (default 30000)")
    p.add_argument("--exec", help="run this shell command for each task (see above)")
    args = p.parse_args()

    # The token as the keel CLI finds it, --token-file first.
    token = read_token(args.token_file) if args.token_file else os.environ.get("KEEL_TOKEN", "")
    if not token.strip() and os.environ.get("KEEL_TOKEN_FILE"):
        token = read_token(os.environ["KEEL_TOKEN_FILE"])
    if not token.strip() and os.path.exists(DEFAULT_TOKEN_FILE):
        token = read_token(DEFAULT_TOKEN_FILE)
    if not args.exec:
        unknown = [q for q in args.queue if q not in ("echo", "sleep", "fail")]
        if unknown:
            p.error(f"no built-in handler for {', '.join(unknown)}: give --exec CMD")
    url = args.url if "://" in args.url else "http://" + args.url
    keel = Keel(url, token.strip(), args.ca_file)

    stopping = threading.Event()

    def on_signal(signum, _frame):
        if stopping.is_set():
            log("second signal: exiting now; the tasks in hand will be lost and retried")
            os._exit(1)
        stopping.set()
        log(f"{signal.Signals(signum).name}: stopping after the task in hand")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log(f"worker {args.worker} polling {', '.join(args.queue)} at {url}")
    delay = 0.5  # between failed polls, doubling up to 30 s
    while not stopping.is_set():
        try:
            tasks = keel.poll(args.queue, args.worker, args.max, args.wait_ms)
            delay = 0.5
        except HttpError as e:
            if e.status in (400, 401, 403):
                log(f"keel refuses to hand out tasks: {e}")
                return 2
            log(f"poll: {e}; again in {delay:.1f}s")  # 503: keel is stopping
            stopping.wait(delay)
            delay = min(delay * 2, 30)
            continue
        except OSError as e:
            log(f"poll: cannot reach {url}: {e}; again in {delay:.1f}s")
            stopping.wait(delay)
            delay = min(delay * 2, 30)
            continue
        # Every task leased to us is heartbeated from now on and done, one
        # after the other, even when a signal came during the poll.
        for held in [Held(keel, args.worker, task) for task in tasks]:
            work(keel, args, held)
    log(f"worker {args.worker} stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
