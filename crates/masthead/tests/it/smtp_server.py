"""A real SMTP server on loopback for the newsletter tests (aiosmtpd).

Each message is stored in DIR as NAME.eml (the bytes received) and
NAME.json (the envelope, the headers the tests read, and the text and HTML
parts decoded by Python's email package, a real MIME parser).

Behaviour, by recipient local part and by control files in DIR:
  bad-*        550 5.1.1 at RCPT TO (the mailbox does not exist)
  policy-*     550 5.7.1 at RCPT TO (refused by policy)
  busy-*       451 4.2.1 at RCPT TO the first time, accepted afterwards
  DIR/refuse-sender exists: 550 5.7.1 at MAIL FROM (a relay refusing an
               unverified sender)
  --delay-ms N: every DATA waits N ms (a slow server, for crash tests)
  --dkim-key B64: verify each message's DKIM signature (dkimpy) against
               this RSA public key as if published in DNS, and again with
               its List-Unsubscribe header altered

Prints "ready" once listening on 127.0.0.1:PORT.
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import time
import uuid

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, directory, delay_ms, dkim_key):
        self.dir = directory
        self.delay = delay_ms / 1000.0
        self.dkim_key = dkim_key
        self.busy_seen = set()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if os.path.exists(os.path.join(self.dir, "refuse-sender")):
            return "550 5.7.1 <%s>: Sender address rejected: not verified" % address
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local.startswith("bad-"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if local.startswith("policy-"):
            return "550 5.7.1 <%s>: Recipient refused by policy" % address
        if local.startswith("busy-") and address not in self.busy_seen:
            self.busy_seen.add(address)
            return "451 4.2.1 <%s>: Mailbox busy, try again later" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = {}
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype in ("text/plain", "text/html") and ctype not in parts:
                parts[ctype] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
        }
        if self.dkim_key:
            import dkim

            record_txt = ("v=DKIM1; k=rsa; p=" + self.dkim_key).encode()
            dns = lambda name, timeout=5: record_txt
            record["dkim"] = bool(dkim.verify(raw, dnsfunc=dns))
            tampered = raw.replace(b"List-Unsubscribe: <", b"List-Unsubscribe: <https://elsewhere.example/", 1)
            record["dkim_tampered"] = bool(dkim.verify(tampered, dnsfunc=dns))
        name = "%d-%s" % (time.time_ns(), uuid.uuid4().hex)
        for ext, data in ((".eml", raw), (".json", json.dumps(record).encode())):
            tmp = os.path.join(self.dir, "." + name + ext)
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, os.path.join(self.dir, name + ext))
        return "250 2.0.0 OK queued"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--dkim-key", default="")
    args = p.parse_args()
    controller = Controller(Handler(args.dir, args.delay_ms, args.dkim_key), hostname="127.0.0.1", port=args.port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
