"""Fan-out benchmark: one notice to N contacts through the durable outbox.

What it measures, for N (default 10,000) and, to show that memory does not grow with N,
for a second, smaller N (``--compare-n``, default N/4):

* **enqueue**: generating a signed unsubscribe token and a personalised link per contact
  (itsdangerous), and writing the message plus N outbox rows in one transaction;
* **delivery**: from the moment that transaction commits until the local SMTP sink has
  accepted the last message. A worker process (forked before the contacts exist, so it
  holds none of them) is woken at commit and drains the queue exactly as
  ``flask commsplan deliver`` does: claim batches, render each mail from the cached
  template, send over ``--connections`` reused SMTP connections, and group-commit each
  accepted mail as sent before its connection's next one is accepted (so a crash
  duplicates at most one mail per connection; see docs/delivery.md);
* **peak memory** of that worker (``getrusage`` max RSS, and how much it grew while
  draining);
* **raw limit**: the same number of connections pushing N identical pre-built messages
  with the same SMTP code (``SmtpPipe``, one thread), no database and no rendering,
  measured just before and just after the worker's run and averaged, and the ratio of
  the two.

The sink is Postfix's ``smtp-sink`` (aiosmtpd tops out near 200 messages/s and would
measure itself). Install it with ``apt-get install -y postfix`` (Debian puts it in
``/usr/sbin/smtp-sink``; stop the postfix daemon on port 25 if the install starts one —
the benchmark starts its own sink on a free loopback port).

Run from the project root::

    .venv/bin/python bench/fanout.py                 # SQLite in a temporary directory
    .venv/bin/python bench/fanout.py --n 20000 --connections 4
    createdb -h 127.0.0.1 -U postgres commsplan_bench
    .venv/bin/python bench/fanout.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/commsplan_bench

The database given with ``--database-url`` is emptied (all commsplan tables are dropped
and created again). Target on a 2-core machine: at least 2,500 messages/s and a ratio of
at least 0.45, with worker memory flat in N.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from itsdangerous import URLSafeSerializer  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import configure_mappers  # noqa: E402

from commsplan import create_app  # noqa: E402
from commsplan.delivery.mime import MessageTemplate, Recipient  # noqa: E402
from commsplan.delivery.models import DeliveryState, OutboxItem, OutgoingMessage  # noqa: E402
from commsplan.delivery.services import Addressee, enqueue  # noqa: E402
from commsplan.delivery.smtp import Phase, SmtpPipe  # noqa: E402
from commsplan.delivery.worker import DEFAULTS, Deliverer, DeliverySettings  # noqa: E402
from commsplan.extensions import db  # noqa: E402
from commsplan.plan.models import Contact  # noqa: E402

SMTP_SINK = shutil.which("smtp-sink") or (
    "/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None
)
BASE_URL = "https://commsplan.example.org"
FIRST_NAMES = ["Åsa", "Per", "Märta", "Olof", "Anna", "Jörgen", "Lena", "Björn", "Karin", "Sven"]
LAST_NAMES = ["Öberg", "Andersson", "Lindqvist", "Ström", "Nilsson", "Åkesson", "Berg", "Holm"]

TEXT_BODY = """Driftstörning: Journalen

Hej %%name%%,

Journalen på 1177 går just nu inte att nå för invånare. Felet påverkar även
Stöd och behandling när en journalanteckning visas. Vi felsöker tillsammans med
Inera och återkommer med en uppdatering senast klockan 14.00.

Påverkade e-tjänster: Journalen, Stöd och behandling
Påverkade system: Nationell patientöversikt (NPÖ)
Allvarlighetsgrad: Hög
Status: Felsökning pågår

Vad betyder det för verksamheten?
Invånare som ringer kan inte hänvisas till Journalen under störningen. Använd
stödmaterialet på intranätet för att svara på frågor.

Läs mer och följ uppdateringarna: %%notice_url%%

--
Du får det här meddelandet eftersom du är kontaktperson för en berörd e-tjänst.
Avsluta prenumerationen: %%unsubscribe_url%%
"""

HTML_BODY = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><title>Driftstörning: Journalen</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #1a1a1a">
<h1 style="font-size: 1.4rem">Driftstörning: Journalen</h1>
<p>Hej %%name%%,</p>
<p>Journalen på 1177 går just nu inte att nå för invånare. Felet påverkar även
Stöd och behandling när en journalanteckning visas. Vi felsöker tillsammans med
Inera och återkommer med en uppdatering senast klockan 14.00.</p>
<table>
<tr><th scope="row">Påverkade e-tjänster</th><td>Journalen, Stöd och behandling</td></tr>
<tr><th scope="row">Påverkade system</th><td>Nationell patientöversikt (NPÖ)</td></tr>
<tr><th scope="row">Allvarlighetsgrad</th><td>Hög</td></tr>
<tr><th scope="row">Status</th><td>Felsökning pågår</td></tr>
</table>
<h2 style="font-size: 1.1rem">Vad betyder det för verksamheten?</h2>
<p>Invånare som ringer kan inte hänvisas till Journalen under störningen. Använd
stödmaterialet på intranätet för att svara på frågor.</p>
<p><a href="%%notice_url%%">Läs mer och följ uppdateringarna</a></p>
<hr>
<p style="font-size: 0.9rem; color: #4a4a4a">Du får det här meddelandet eftersom du är
kontaktperson för en berörd e-tjänst. <a href="%%unsubscribe_url%%">Avsluta prenumerationen</a>.</p>
</body></html>
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen[bytes]:
    assert SMTP_SINK
    command = [SMTP_SINK]
    if os.geteuid() == 0:
        command += ["-u", "root"]  # smtp-sink refuses to keep root without being told
    command += [f"127.0.0.1:{port}", "1000"]
    sink = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return sink
        except OSError:
            if sink.poll() is not None:
                raise SystemExit(
                    f"smtp-sink exited: {sink.stderr.read().decode() if sink.stderr else ''}"
                ) from None
            time.sleep(0.05)
    sink.kill()
    raise SystemExit("smtp-sink did not start listening")


def rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@dataclass
class WorkerReport:
    sent: int
    last_accepted: float
    started_rss_kib: int
    peak_rss_kib: int
    cpu_seconds: float
    errors: list[str]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker_main(config: dict[str, Any], go: Any, reply: Any) -> None:
    """The worker process: build the app, wait for the commit, drain once, report.

    Before the commit it does what a running worker has long done when a fan-out arrives:
    its mappers are configured and it has drained the empty queue once (that first use
    costs a fifth of a second, which a worker pays once per process, not per fan-out).
    """
    app = create_app(config)
    deliverer = Deliverer.from_app(app)
    with app.app_context():
        db.engine.dispose(close=False)  # never share the parent's connections
    configure_mappers()
    deliverer.drain()  # the queue is still empty
    reply.send("ready")
    started = rss_kib()
    go.recv()
    cpu = cpu_seconds()
    result = deliverer.drain()
    cpu = cpu_seconds() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reply.send(
        WorkerReport(result.sent, result.last_accepted or time.monotonic(), started, peak, cpu, result.errors)
    )


def make_contacts(n: int) -> None:
    rows = [
        {
            "name": f"{FIRST_NAMES[i % len(FIRST_NAMES)]} {LAST_NAMES[i % len(LAST_NAMES)]} {i}",
            "email": f"kontakt{i}@example.org",
            "phone": "",
            "role": "",
            "language": "sv",
            "active": True,
        }
        for i in range(n)
    ]
    db.session.execute(insert(Contact), rows)
    db.session.commit()


def publish(secret: str) -> tuple[int, float]:
    """Enqueue one notice-like message to every contact; returns (rows, seconds)."""
    started = time.perf_counter()
    signer = URLSafeSerializer(secret, salt="unsubscribe")
    link_signer = URLSafeSerializer(secret, salt="notice-link")
    contacts = db.session.execute(select(Contact.id, Contact.name, Contact.email).order_by(Contact.id))
    addressees = (
        Addressee(
            email=email,
            name=name,
            contact_id=contact_id,
            personalisation={
                "name": name,
                "notice_url": f"{BASE_URL}/notices/1?r={link_signer.dumps(contact_id)}",
                "unsubscribe_url": f"{BASE_URL}/subscriptions/unsubscribe/{signer.dumps(contact_id)}",
            },
            reason="Kontaktperson för Journalen",
        )
        for contact_id, name, email in contacts
    )
    message = OutgoingMessage(
        kind="notice",
        subject="Driftstörning: Journalen",
        text_body=TEXT_BODY,
        html_body=HTML_BODY,
        headers={},
        attachments=[],
        source_type="notice",
        source_id=1,
    )
    count = enqueue(db.session, message, addressees, domain="commsplan.example.org")
    db.session.commit()
    return count, time.perf_counter() - started


def push(pipes: list[SmtpPipe], selector: selectors.BaseSelector, sender: str, data: bytes, n: int) -> None:
    """Send ``n`` copies of ``data``, each connection starting a mail as soon as it is free."""
    sent = started = 0
    while sent < n:
        for pipe in pipes:
            if pipe.free and started < n:
                pipe.start(sender, f"kontakt{started}@example.org", data, started)
                started += 1
            elif pipe.phase is Phase.ready:
                pipe.send_body()
        for key, _mask in selector.select(1.0):
            for event in key.data.on_readable():
                if event.kind != "accepted":
                    raise SystemExit(f"raw send failed: {event}")
                sent += 1
            if key.data.phase is Phase.ready:
                key.data.send_body()


def raw_limit(settings: DeliverySettings, n: int) -> tuple[float, float]:
    """Messages/s (and CPU seconds) for identical pre-built mails over
    ``settings.connections`` connections."""
    template = MessageTemplate.build(
        sender=settings.default_sender,
        subject="Driftstörning: Journalen",
        text_body=TEXT_BODY,
        html_body=HTML_BODY,
    )
    data = template.render_wire(
        Recipient(
            "kontakt0@example.org",
            "Åsa Öberg 0",
            "<raw@commsplan.example.org>",
            {"name": "Åsa Öberg 0", "notice_url": f"{BASE_URL}/n", "unsubscribe_url": f"{BASE_URL}/u"},
        )
    )
    selector = selectors.DefaultSelector()
    pipes = [SmtpPipe(settings, selector) for _ in range(settings.connections)]
    push(pipes, selector, template.envelope_from, data, len(pipes))  # connect outside the clock
    started = time.monotonic()
    cpu = cpu_seconds()
    push(pipes, selector, template.envelope_from, data, n)
    seconds = time.monotonic() - started
    cpu = cpu_seconds() - cpu
    for pipe in pipes:
        pipe.close()
    selector.close()
    return n / seconds, cpu


def run_once(n: int, args: argparse.Namespace, port: int, workdir: Path) -> dict[str, float]:
    database_url = args.database_url or f"sqlite:///{workdir / f'fanout-{n}.db'}"
    config = {
        "SECRET_KEY": "bench-secret",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": BASE_URL,
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_DEFAULT_SENDER": "commsplan <noreply@commsplan.example.org>",
        "DELIVERY_CONNECTIONS": args.connections,
        "DELIVERY_BATCH_SIZE": args.batch_size,
    }
    os.environ["COMMSPLAN_INSTANCE_PATH"] = str(workdir / "instance")
    app = create_app(config)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.remove()
        db.engine.dispose()

    # Fork the worker before the contacts exist, so its memory is only what draining needs.
    context = multiprocessing.get_context("fork")
    go_recv, go_send = context.Pipe(duplex=False)
    reply_recv, reply_send = context.Pipe(duplex=False)
    worker = context.Process(target=worker_main, args=(config, go_recv, reply_send))
    worker.start()
    # A fan-out queued before the worker's first, empty drain would be sent by that one.
    assert reply_recv.recv() == "ready"

    with app.app_context():
        make_contacts(n)
        count, enqueue_seconds = publish(app.config["SECRET_KEY"])
        # The raw limit just before and just after the worker's run, averaged: the
        # machine's other load drifts, and the ratio should not depend on which side of
        # the worker's run it drifted.
        settings = DeliverySettings.from_app(app)
        raw_before = raw_limit(settings, n)
        committed = time.monotonic()
        go_send.send(True)
        report: WorkerReport = reply_recv.recv()
        worker.join()
        db.session.remove()
        sent_rows = db.session.scalar(
            select(func.count()).select_from(OutboxItem).where(OutboxItem.state == DeliveryState.sent)
        )
        db.session.remove()
        db.engine.dispose()
    if report.errors:
        print("  worker errors:", *report.errors, sep="\n    ")
    seconds = report.last_accepted - committed
    raw_after = raw_limit(settings, n)
    raw, raw_cpu = ((before + after) / 2 for before, after in zip(raw_before, raw_after, strict=True))
    rate = report.sent / seconds
    return {
        "n": n,
        "queued": count,
        "sent": report.sent,
        "sent_rows": sent_rows or 0,
        "enqueue_s": enqueue_seconds,
        "deliver_s": seconds,
        "rate": rate,
        "raw": raw,
        "ratio": rate / raw,
        "cpu_us": report.cpu_seconds / max(report.sent, 1) * 1e6,
        "raw_cpu_us": raw_cpu / n * 1e6,
        "rss_start_mib": report.started_rss_kib / 1024,
        "rss_peak_mib": report.peak_rss_kib / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="contacts to send to (default 10000)")
    parser.add_argument(
        "--compare-n", type=int, default=None, help="second N, to show memory is flat (default 2N; 0: skip)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=DEFAULTS["DELIVERY_CONNECTIONS"],
        help=f"SMTP connections (default {DEFAULTS['DELIVERY_CONNECTIONS']}, as the app)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULTS["DELIVERY_BATCH_SIZE"],
        help=f"rows per claim (default {DEFAULTS['DELIVERY_BATCH_SIZE']}, as the app)",
    )
    parser.add_argument(
        "--database-url", default="", help="SQLAlchemy URL; emptied! default: SQLite in a temp dir"
    )
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)  # internal: one run
    args = parser.parse_args()
    if args.port:
        # One measurement in a fresh process, so earlier runs do not inflate its memory.
        workdir = Path(tempfile.mkdtemp(prefix="commsplan-fanout-"))
        try:
            print(json.dumps(run_once(args.n, args, args.port, workdir)))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    if SMTP_SINK is None:
        raise SystemExit(
            "smtp-sink not found. Install Postfix's test sink with `apt-get install -y postfix` "
            "(it provides /usr/sbin/smtp-sink) and run again. aiosmtpd is no substitute: it "
            "tops out near 200 messages/s and would measure itself."
        )
    sizes = [args.n]
    compare = 2 * args.n if args.compare_n is None else args.compare_n
    if compare:
        sizes.append(compare)

    port = free_port()
    sink = start_sink(port)
    results = []
    try:
        backend = (args.database_url or "sqlite").split(":", 1)[0]
        print(
            f"fan-out via {SMTP_SINK} on 127.0.0.1:{port}, {args.connections} connections, "
            f"batch {args.batch_size}, database {backend}, {os.cpu_count()} CPUs"
        )
        for n in sizes:
            command = [sys.executable, __file__, "--n", str(n), "--port", str(port)]
            command += ["--connections", str(args.connections), "--batch-size", str(args.batch_size)]
            if args.database_url:
                command += ["--database-url", args.database_url]
            run = subprocess.run(command, capture_output=True, text=True, check=False)
            if run.returncode != 0:
                raise SystemExit(f"run with N={n} failed:\n{run.stdout}{run.stderr}")
            lines = run.stdout.strip().splitlines()
            print(*lines[:-1], sep="\n") if len(lines) > 1 else None
            results.append(json.loads(lines[-1]))
    finally:
        sink.terminate()
        sink.wait()

    print(
        f"{'N':>7} {'enqueue s':>9} {'deliver s':>9} {'msg/s':>8} {'raw msg/s':>9} {'ratio':>6} "
        f"{'CPU µs/msg':>10} {'raw CPU µs/msg':>14} "
        f"{'worker RSS start MiB':>20} {'peak MiB':>8} {'growth MiB':>10}"
    )
    for r in results:
        print(
            f"{r['n']:>7} {r['enqueue_s']:>9.2f} {r['deliver_s']:>9.2f} {r['rate']:>8.0f} {r['raw']:>9.0f} "
            f"{r['ratio']:>6.2f} {r['cpu_us']:>10.0f} {r['raw_cpu_us']:>14.0f} "
            f"{r['rss_start_mib']:>20.1f} {r['rss_peak_mib']:>8.1f} "
            f"{r['rss_peak_mib'] - r['rss_start_mib']:>10.1f}"
        )
        if r["sent"] != r["n"] or r["sent_rows"] != r["n"]:
            print(
                f"  WARNING: {r['sent']} sent by the worker, {r['sent_rows']} rows marked sent, of {r['n']}"
            )
    first = results[0]
    verdict = "meets" if first["rate"] >= 2500 and first["ratio"] >= 0.45 else "misses"
    print(f"N={first['n']}: {first['rate']:.0f} msg/s, ratio {first['ratio']:.2f}: {verdict} the target")


if __name__ == "__main__":
    main()
