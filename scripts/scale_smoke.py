#!/usr/bin/env python3
"""Scale smoke: MedService "beyond one machine" on this machine, then a scenario through it.

Starts a fresh PostgreSQL database (migrated, demo data), moto's S3 server with a bucket, two
gunicorn web processes on two ports (2 workers each), TASK_BACKEND=rq with two RQ workers on
Redis, and two schedulers at once. Then, over HTTP through both web processes: a browser sign-in
whose session works on the other process, an API token, a service request registered on one
process, a photo uploaded through the other (it must land in the bucket and come back
byte-for-byte through the first), the customer e-mail that registration queues (an RQ worker
must send it), and a few scheduler ticks after which every periodic job's run record shows no
slot run twice. Everything started is stopped and the database dropped on exit, also on
Ctrl-C or SIGTERM; the exit status is 0 only when every check passed.

    make scale-smoke            (or .venv/bin/python scripts/scale_smoke.py)

Environment (all optional): SCALE_PG_URL (a PostgreSQL server URL whose user may create
databases; default postgres://postgres@127.0.0.1:5432/postgres), SCALE_DATABASE (default
medservice_scale; dropped and created anew), SCALE_REDIS_URL (default
redis://127.0.0.1:6379/15; this Redis database is emptied), SCALE_PORTS (default 18100-18199:
the three ports used are free ones from this range), SCALE_FRESH=1 (migrate and seed even when
a template database for the same migrations and demo data exists). Logs of every process are
kept in var/scale-smoke/logs/.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import psycopg
import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "var" / "scale-smoke"
LOGS = WORK / "logs"
# The template database outlives a checkout (it is in PostgreSQL), so its files do too.
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medservice-scale-smoke"
PYTHON = sys.executable
PASSWORD = "demo-pass-2026"  # the demo users' password (core/demo.py)
# A throwaway demo installation: fixed keys, so a database cloned from the template stays
# readable (personal data is encrypted with a key derived from the secret key in demo mode).
SECRET_KEY = "scale-smoke-demo-only-not-a-secret-0123456789abcdef"
S3_KEYS = {"AWS_ACCESS_KEY_ID": "scale-smoke", "AWS_SECRET_ACCESS_KEY": "scale-smoke"}
REGION = "us-east-1"
# A real 1×1 PNG (evidence files are checked by their content).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
CLAIM_LINE = re.compile(r"periodic job (\S+): slot (\S+) claimed by (\S+)")
STARTED = time.monotonic()


class SmokeError(Exception):
    pass


def say(message: str) -> None:
    print(f"[scale-smoke {time.monotonic() - STARTED:5.1f}s] {message}", flush=True)


def check(condition: object, message: str) -> None:
    if not condition:
        raise SmokeError(message)


def wait_for(what: str, probe: Callable[[], Any], timeout: float, every: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            result = probe()
        except SmokeError:  # a signal stops the run, also while it waits
            raise
        except Exception as error:  # the thing waited for may refuse until it is up
            result, last_error = None, f" (last error: {error})"
        if result:
            return result
        time.sleep(every)
    raise SmokeError(f"timed out after {timeout:.0f} s waiting for {what}{last_error}")


# --- processes -----------------------------------------------------------------------------------


class Stack:
    """The processes this run started, each in its own process group, with its log file."""

    def __init__(self) -> None:
        self.processes: dict[str, subprocess.Popen] = {}

    def log(self, name: str) -> Path:
        return LOGS / f"{name}.log"

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        with self.log(name).open("wb") as output:
            process = subprocess.Popen(  # noqa: S603  (our own argv)
                argv,
                env=env,
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def tail(self, name: str, lines: int = 25) -> str:
        try:
            text = self.log(name).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(f"    {name}| {line}" for line in text[-lines:])

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise SmokeError(
                    f"{name} exited with status {process.returncode}:\n{self.tail(name)}"
                )

    def stop(self, *names: str, timeout: float = 20) -> None:
        chosen = [name for name in (names or list(self.processes)[::-1]) if name in self.processes]
        for name in chosen:
            process = self.processes[name]
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name in chosen:
            process = self.processes.pop(name)
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


stack = Stack()


def run(what: str, argv: list[str], env: dict[str, str], timeout: float = 600) -> str:
    """A one-off command; its output goes to the log named `what`."""
    say(f"{what} ...")
    result = subprocess.run(  # noqa: S603  (our own argv)
        argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    stack.log(what).write_text(result.stdout + result.stderr)
    check(
        result.returncode == 0,
        f"{what} failed with status {result.returncode}:\n{(result.stdout + result.stderr)[-3000:]}",
    )
    return result.stdout


def free_ports(count: int) -> list[int]:
    low, _, high = (os.environ.get("SCALE_PORTS") or "18100-18199").partition("-")
    candidates = list(range(int(low), int(high or low) + 1))
    random.shuffle(candidates)
    found = []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise SmokeError(f"fewer than {count} free ports in {low}-{high} on 127.0.0.1")


# --- PostgreSQL ------------------------------------------------------------------------------------


def database_url(server: str, name: str) -> str:
    parts = urllib.parse.urlsplit(server)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def admin(server: str) -> psycopg.Connection:
    return psycopg.connect(server, autocommit=True, connect_timeout=5)


def database_exists(server: str, name: str) -> bool:
    with admin(server) as connection:
        return (
            connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def database_drop(server: str, name: str) -> None:
    with admin(server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def template_key() -> str:
    """Migrations and demo data: a template database is reused while neither changes."""
    digest = hashlib.sha256()
    package = ROOT / "src" / "medservice"
    files = sorted(
        [*package.glob("*/migrations/*.py"), *package.rglob("*demo*.py"), ROOT / "uv.lock"]
    )
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def static_key() -> str:
    """The packages and the project's own static files: collected again when either changes."""
    digest = hashlib.sha256((ROOT / "uv.lock").read_bytes())
    for path in sorted((ROOT / "src" / "medservice").glob("*/static/**/*")):
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def database_create(server: str, name: str, env: dict[str, str], s3: Any, bucket: str) -> None:
    """A fresh database `name` and its files in `bucket`: cloned from a migrated, seeded template
    made for the current migrations and demo data (made now, by `migrate` and `seed-demo`, when
    missing). The demo's files (seeded into the bucket) are kept beside the template and put
    into each new bucket: the database names objects by key, not by bucket."""
    template = f"{name}_tpl_{template_key()}"
    files = CACHE / template
    fresh = os.environ.get("SCALE_FRESH") == "1"
    if fresh or not database_exists(server, template) or not files.is_dir():
        database_drop(server, template)
        with admin(server) as connection:
            connection.execute(f'CREATE DATABASE "{template}"')
            stale = connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname <> %s",
                [f"{name}_tpl_%", template],
            ).fetchall()
        for (old,) in stale:
            database_drop(server, old)
        building = {**env, "DATABASE_URL": database_url(server, template)}
        try:
            run("migrate", [PYTHON, "-m", "medservice", "migrate", "--no-input"], building)
            run("seed-demo", [PYTHON, "-m", "medservice", "seed-demo"], building)
        except BaseException:
            database_drop(server, template)
            raise
        shutil.rmtree(CACHE, ignore_errors=True)  # older templates' files
        files.mkdir(parents=True)
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            target = files / item["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(bucket, item["Key"], str(target))
    else:
        say(f"template database {template} is current: migrations and demo data reused")
        for path in sorted(files.rglob("*")):
            if path.is_file():
                s3.upload_file(str(path), bucket, path.relative_to(files).as_posix())
    database_drop(server, name)
    with admin(server) as connection:
        connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


# --- the scenario ----------------------------------------------------------------------------------


def sign_in_with_the_browser(web_a: str, web_b: str) -> None:
    """A browser session made on one web process is valid on the other (sessions in the DB)."""
    browser = requests.Session()
    page = browser.get(f"{web_a}/accounts/login/", timeout=30)
    check(page.status_code == 200, f"GET {web_a}/accounts/login/ answered {page.status_code}")
    signed_in = browser.post(
        f"{web_a}/accounts/login/",
        data={
            "username": "agent",
            "password": PASSWORD,
            "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
        },
        headers={"Referer": f"{web_a}/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    check(
        signed_in.status_code == 302,
        f"sign-in as agent on {web_a} answered {signed_in.status_code}, not a redirect",
    )
    home = browser.get(f"{web_b}/", allow_redirects=False, timeout=30)
    check(
        home.status_code == 200,
        f"the session from {web_a} was not accepted by {web_b}: {home.status_code}",
    )
    say(f"browser sign-in on {web_a}; the same session works on {web_b}")


def api_token(web: str) -> str:
    response = requests.post(
        f"{web}/api/v1/auth/token/",
        json={"username": "agent", "password": PASSWORD},
        timeout=30,
    )
    check(response.status_code == 200, f"token: {response.status_code} {response.text[:300]}")
    return response.json()["token"]


def register_request(web: str, token: str, marker: str) -> dict[str, Any]:
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
    organizations = requests.get(
        f"{web}/api/v1/organizations/", headers=headers, params={"page_size": 50}, timeout=30
    )
    check(organizations.status_code == 200, f"organizations: {organizations.status_code}")
    results = organizations.json()["results"]
    hospitals = [item for item in results if item.get("kind") in ("hospital", "clinic")] or results
    check(hospitals, "the demo data has no organisation the agent can see")
    response = requests.post(
        f"{web}/api/v1/tickets/",
        headers=headers,
        json={
            "kind": "repair",
            "channel": "phone",
            "organization": hospitals[0]["id"],
            "reporter_name": "冒烟测试",
            "reporter_phone": "13800000000",
            "reporter_email": f"{marker}@scale-smoke.example.cn",
            "subject": f"scale smoke {marker}",
            "description": "监护仪黑屏（scale smoke）。",
            "received_at": datetime.datetime.now(datetime.UTC).isoformat(),
        },
        timeout=60,
    )
    check(response.status_code == 201, f"register: {response.status_code} {response.text[:500]}")
    return response.json()


def upload_and_download(web_up: str, web_down: str, token: str, ticket: dict, s3: Any, bucket: str):
    headers = {"Authorization": f"Token {token}", "Accept-Language": "en"}
    before = {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    response = requests.post(
        f"{web_up}/api/v1/tickets/{ticket['id']}/comments/",
        headers=headers,
        files={"file": ("报警屏幕.png", PNG, "image/png")},
        timeout=60,
    )
    check(response.status_code == 201, f"upload: {response.status_code} {response.text[:500]}")
    entry = response.json()
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    stored = {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
        for item in listing
        if item["Key"] not in before
    }
    check(
        list(stored.values()) == [PNG] and next(iter(stored)).startswith("tickets/"),
        f"the upload should add one object, the photo, under tickets/; added {sorted(stored)}",
    )
    check(
        not (WORK / "var" / "media").exists(),
        "a file was written to the local MEDIA_ROOT, not to S3",
    )
    # file_url names the process that answered the upload; download through the other one.
    url = web_down + urllib.parse.urlsplit(entry["file_url"]).path
    download = requests.get(url, headers=headers, timeout=60)
    check(
        download.status_code == 200 and download.content == PNG,
        f"download through {web_down}: {download.status_code}, {len(download.content)} bytes",
    )
    say(
        f"photo uploaded through {web_up} is s3://{bucket}/{next(iter(stored))}, "
        f"downloaded intact through {web_down}"
    )


def background_email_sent(ticket: dict, redis_url: str) -> None:
    """Registration queued the customer's e-mail; an RQ worker sent it (console backend)."""
    number = ticket["number"]

    def sent_by() -> str:
        for name in ("rqworker-1", "rqworker-2"):
            if f"X-MedService-Ticket: {number}" in stack.log(name).read_text(errors="replace"):
                return name
        return ""

    worker = wait_for(f"an RQ worker to send the e-mail of {number}", sent_by, timeout=60)
    from rq import Worker
    from rq.registry import FailedJobRegistry

    connection = redis.Redis.from_url(redis_url)
    workers = Worker.all(connection=connection)
    check(len(workers) == 2, f"{len(workers)} RQ workers registered in Redis, not 2")
    failed = FailedJobRegistry("default", connection=connection).get_job_ids()
    check(not failed, f"RQ jobs failed: {failed} (see var/scale-smoke/logs/rqworker-*.log)")
    say(f"the registration e-mail of {number} was sent by {worker} ({len(workers)} RQ workers)")


def scheduler_claims() -> dict[str, list[tuple[str, str]]]:
    """job -> [(slot, scheduler)], from both schedulers' logs."""
    claims: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in ("scheduler-1", "scheduler-2"):
        for match in CLAIM_LINE.finditer(stack.log(name).read_text(errors="replace")):
            claims[match[1]].append((match[2], name))
    return claims


def schedulers_never_ran_a_slot_twice(url: str) -> None:
    def enough() -> bool:
        claims = scheduler_claims()
        by = {scheduler for runs in claims.values() for _slot, scheduler in runs}
        return len(claims.get("core.audit-seal", [])) >= 2 and len(by) == 2

    wait_for(
        "both schedulers to run jobs, and core.audit-seal (every 15 s) to run twice",
        enough,
        timeout=90,
        every=1,
    )
    # Stopped, a scheduler finishes the job it is running and records it: the counts settle.
    stack.stop("scheduler-1", "scheduler-2", timeout=120)
    claims = scheduler_claims()
    with psycopg.connect(url, connect_timeout=5) as connection:
        counts = dict(connection.execute("SELECT name, run_count FROM core_joblease").fetchall())
    problems = []
    for job, runs in sorted(claims.items()):
        twice = [slot for slot, seen in Counter(slot for slot, _ in runs).items() if seen > 1]
        if twice:
            problems.append(f"{job} ran more than once for slot(s) {', '.join(twice)}")
        if counts.get(job, 0) != len(runs):
            problems.append(f"{job}: {counts.get(job, 0)} runs recorded, {len(runs)} claims logged")
    for job, count in counts.items():
        if count and job not in claims:
            problems.append(f"{job}: {count} runs recorded but no claim logged")
    check(not problems, "periodic jobs:\n  " + "\n  ".join(problems))
    per_scheduler = Counter(scheduler for runs in claims.values() for _slot, scheduler in runs)
    total = sum(per_scheduler.values())
    say(
        f"schedulers: {total} runs of {len(claims)} jobs "
        f"({', '.join(f'{name} {count}' for name, count in sorted(per_scheduler.items()))}), "
        f"core.audit-seal {len(claims['core.audit-seal'])}x; no slot ran twice"
    )


# --- main ------------------------------------------------------------------------------------------


def environment(**extra: str) -> dict[str, str]:
    dropped = (
        "DATABASE_URL",
        "REDIS_URL",
        "DJANGO_",
        "MEDSERVICE_",
        "TASK_",
        "STORAGE_",
        "AWS_",
        "PYTEST",
        "SQLITE_TEST",
        "SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "DEBUG",
    )
    base = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    return {**base, **extra}


@contextlib.contextmanager
def signals_stop() -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise SmokeError(f"stopped by signal {signum}")

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> int:
    server = os.environ.get("SCALE_PG_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    name = os.environ.get("SCALE_DATABASE") or "medservice_scale"
    redis_url = os.environ.get("SCALE_REDIS_URL") or "redis://127.0.0.1:6379/15"
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("*.log"):
        old.unlink()
    var = WORK / "var"
    if var.exists():
        shutil.rmtree(var)
    var.mkdir(parents=True)
    bucket = f"medservice-smoke-{uuid.uuid4().hex[:8]}"
    port_a, port_b, port_s3 = free_ports(3)
    endpoint = f"http://127.0.0.1:{port_s3}"
    url = database_url(server, name)
    env = environment(
        DATABASE_URL=url,
        REDIS_URL=redis_url,
        TASK_BACKEND="rq",
        STORAGE_BACKEND="s3",
        AWS_STORAGE_BUCKET_NAME=bucket,
        AWS_S3_ENDPOINT_URL=endpoint,
        AWS_S3_REGION_NAME=REGION,
        AWS_S3_ADDRESSING_STYLE="path",
        **S3_KEYS,
        SECRET_KEY=SECRET_KEY,
        MEDSERVICE_DEMO="1",
        MEDSERVICE_VAR_DIR=str(var),
        STATIC_ROOT=str(WORK / "static"),  # kept between runs (static_key)
        SECURE_HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SCHEDULER_TICK_SECONDS="1",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    redis_db = redis.Redis.from_url(redis_url)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    manage = [PYTHON, "-m", "medservice"]
    try:
        with signals_stop():
            check(redis_db.ping(), f"Redis does not answer at {redis_url}")
            redis_db.flushdb()
            with admin(server):
                pass
            stack.start(
                "moto", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port_s3)], env
            )
            static_stamp = WORK / "static" / f".collected-{static_key()}"
            collect = None
            if not static_stamp.exists():  # compressing every static file takes minutes
                shutil.rmtree(WORK / "static", ignore_errors=True)
                collect = subprocess.Popen(  # noqa: S603  (in parallel with the database)
                    [*manage, "collectstatic", "--no-input", "-v0"],
                    env=env,
                    cwd=ROOT,
                    stdout=stack.log("collectstatic").open("wb"),
                    stderr=subprocess.STDOUT,
                )
            wait_for(
                f"moto's S3 server on {endpoint}",
                lambda: requests.get(f"{endpoint}/moto-api/", timeout=1).ok,
                timeout=60,
            )
            s3.create_bucket(Bucket=bucket)
            database_create(server, name, env, s3, bucket)
            if collect is not None:
                check(
                    collect.wait(timeout=600) == 0,
                    f"collectstatic failed:\n{stack.tail('collectstatic')}",
                )
                static_stamp.touch()
            else:
                say("static files are current: collectstatic skipped")
            say(f"database {name}, bucket s3://{bucket} on {endpoint}, Redis {redis_url}")
            for number in (1, 2):
                stack.start(f"scheduler-{number}", [*manage, "scheduler"], env)
            for number in (1, 2):
                stack.start(
                    f"rqworker-{number}",
                    [
                        *manage,
                        "rqworker",
                        "default",
                        "--job-class",
                        "django_tasks_rq.backend.Job",
                        "--name",
                        f"scale-smoke-{number}-{os.getpid()}",
                    ],
                    env,
                )
            webs = []
            for number, port in ((1, port_a), (2, port_b)):
                stack.start(
                    f"web-{number}",
                    [
                        PYTHON,
                        "-m",
                        "gunicorn",
                        "medservice.config.wsgi:application",
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--workers",
                        "2",
                        "--threads",
                        "2",
                        "--access-logfile",
                        "-",
                        "--graceful-timeout",
                        "5",
                        "--timeout",
                        "120",
                    ],
                    env,
                )
                webs.append(f"http://127.0.0.1:{port}")
            web_a, web_b = webs
            for web in webs:
                wait_for(
                    f"{web}/healthz",
                    lambda web=web: requests.get(f"{web}/healthz", timeout=2).ok,
                    timeout=90,
                )
            say(
                f"up: web {web_a} and {web_b} (2 workers each), 2 RQ workers, 2 schedulers, moto S3"
            )

            sign_in_with_the_browser(web_a, web_b)
            token = api_token(web_b)
            marker = uuid.uuid4().hex[:8]
            ticket = register_request(web_a, token, marker)
            say(f"service request {ticket['number']} registered through {web_a}")
            upload_and_download(web_b, web_a, token, ticket, s3, bucket)
            background_email_sent(ticket, redis_url)
            schedulers_never_ran_a_slot_twice(url)
            stack.check_alive()
        say(f"PASSED in {time.monotonic() - STARTED:.0f} s")
        return 0
    except (SmokeError, KeyboardInterrupt) as failure:
        print(f"\nSCALE SMOKE FAILED: {failure}", file=sys.stderr, flush=True)
        print(f"(logs of every process: {LOGS})", file=sys.stderr, flush=True)
        return 1
    except Exception as error:  # a service that is not there, a refused connection
        traceback.print_exc()
        print(f"\nSCALE SMOKE FAILED: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        print(f"(logs of every process: {LOGS})", file=sys.stderr, flush=True)
        return 1
    finally:
        stack.stop()
        for attempt in range(5):  # the stopped processes' connections may still be closing
            try:
                database_drop(server, name)
                break
            except Exception as error:
                if attempt == 4:
                    print(f"warning: database {name} not dropped: {error}", file=sys.stderr)
                time.sleep(1)
        with contextlib.suppress(Exception):
            redis_db.flushdb()
        shutil.rmtree(var, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
