"""Peers for the delivery agent tests.

Sink: an SMTP server (python3-aiosmtpd) on 127.0.0.1 that records what
it was sent, byte for byte, and can be told to advertise PIPELINING and
DSN (aiosmtpd does neither by itself), to leave out 8BITMIME, to announce
a SIZE limit, and to refuse chosen commands or recipients.

BounceFake: stands in for the bounce(8) service until it exists: it
listens on private/bounce, private/defer and private/trace of an
instance, speaks the bounce protocol (framed attribute lists, see
global/bounce_clnt.h), answers status 0 and records every request.
"""

import asyncio
import os
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class _SinkSMTP(SMTP):
    """aiosmtpd's server plus DSN parameters: RET/ENVID on MAIL and
    NOTIFY/ORCPT on RCPT are taken off before aiosmtpd sees them (it
    refuses unknown parameters) and recorded."""

    def __init__(self, handler, sink, **kw):
        super().__init__(handler, **kw)
        self.sink = sink
        self.dsn_mail = []
        self.dsn_rcpt = []

    def connection_made(self, transport):
        self.sink.connections += 1
        self.conn_id = self.sink.connections
        super().connection_made(transport)

    @staticmethod
    def _split(arg, names):
        keep, taken = [], []
        for tok in (arg or "").split(" "):
            if tok.split("=", 1)[0].upper() in names:
                taken.append(tok)
            else:
                keep.append(tok)
        return " ".join(keep), taken

    async def smtp_MAIL(self, arg):
        if self.sink.dsn:
            arg, self.dsn_mail = self._split(arg, ("RET", "ENVID"))
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        if self.sink.dsn:
            arg, taken = self._split(arg, ("NOTIFY", "ORCPT"))
            self.dsn_rcpt.append(taken)
        await super().smtp_RCPT(arg)

    async def smtp_RSET(self, arg):
        self.sink.rsets += 1
        self.dsn_rcpt = []
        await super().smtp_RSET(arg)


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        self.sink.ehlo_names.append(hostname)
        out = [r for r in responses[:-1]
               if not (r.startswith("250-8BITMIME") and not self.sink.eightbit)
               and not (r.startswith("250-SMTPUTF8") and not self.sink.smtputf8)]
        if self.sink.pipelining:
            out.append("250-PIPELINING")
        if self.sink.dsn:
            out.append("250-DSN")
        out.append(responses[-1])
        return out

    async def handle_MAIL(self, server, session, envelope, address, options):
        # Pipelining shows as RCPT and DATA already waiting in the input
        # while MAIL is answered (a client that waits cannot have sent them).
        await asyncio.sleep(0.2)
        buffered = bytes(getattr(server._reader, "_buffer", b""))
        envelope.pipelined = b"RCPT TO" in buffered.upper() and b"DATA" in buffered.upper()
        if self.sink.mail_reply:
            return self.sink.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, options):
        reply = self.sink.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        self.sink.messages.append({
            "conn": server.conn_id,
            "mail_from": envelope.mail_from,
            "mail_options": list(envelope.mail_options),
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": list(envelope.rcpt_options),
            "dsn_mail": list(server.dsn_mail),
            "dsn_rcpt": [x for x in server.dsn_rcpt],
            "data": envelope.original_content,
            "pipelined": getattr(envelope, "pipelined", False),
            "helo": session.host_name,
            "peer": session.peer[0] if session.peer else None,
        })
        server.dsn_rcpt = []
        if self.sink.data_reply:
            return self.sink.data_reply
        return "250 2.0.0 Ok: queued as SINK%d" % len(self.sink.messages)


class _Controller(Controller):
    def __init__(self, sink, **kw):
        self.sink = sink
        super().__init__(_Handler(sink), **kw)

    def factory(self):
        return _SinkSMTP(self.handler, self.sink, **self.SMTP_kwargs)


class Sink:
    def __init__(self, host="127.0.0.1", port=None, *, size=None, dsn=False,
                 pipelining=True, eightbit=True, smtputf8=True, rcpt_replies=None,
                 mail_reply=None, data_reply=None, line_length_limit=1001):
        from conftest import free_port
        self.host = host
        self.port = port or free_port()
        self.dsn = dsn
        self.pipelining = pipelining
        self.eightbit = eightbit
        self.smtputf8 = smtputf8
        self.rcpt_replies = rcpt_replies or {}
        self.mail_reply = mail_reply
        self.data_reply = data_reply
        self.messages = []
        self.connections = 0
        self.rsets = 0
        self.ehlo_names = []
        kw = {"data_size_limit": size, "decode_data": False,
              "enable_SMTPUTF8": True}
        self.ctl = _Controller(self, hostname=host, port=self.port,
                               server_hostname="sink.test", **kw)
        _SinkSMTP.line_length_limit = line_length_limit

    def start(self):
        self.ctl.start()
        return self

    def stop(self):
        try:
            self.ctl.stop()
        except Exception:
            pass

    def wait_messages(self, n=1, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= n, f"sink got {len(self.messages)} messages"
        return self.messages


class ScriptSink:
    """A server that follows a script: the greeting, then one reply per
    line it reads; None closes the connection, "HANG" stops answering."""

    def __init__(self, script, host="127.0.0.1"):
        from conftest import free_port
        self.script = script
        self.port = free_port()
        self.lines = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(8)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        f = c.makefile("rb")
        try:
            for i, reply in enumerate(self.script):
                if i > 0:
                    line = f.readline()
                    if not line:
                        break
                    self.lines.append(line)
                if reply is None:
                    break
                if reply == "HANG":
                    time.sleep(30)
                    break
                c.sendall(reply.encode() + b"\r\n")
        except OSError:
            pass
        c.close()

    def stop(self):
        self.sock.close()


class GreetSink:
    """A server that greets with a fixed reply (421, 554) and closes."""

    def __init__(self, greeting, host="127.0.0.1"):
        from conftest import free_port
        self.greeting = greeting
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, self.port))
        self.sock.listen(8)
        self.hits = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            try:
                c.sendall(self.greeting.encode() + b"\r\n")
                c.settimeout(2)
                c.recv(1024)
            except OSError:
                pass
            c.close()

    def stop(self):
        self.sock.close()


def _parse_list(buf):
    """One attribute list from buf: (dict, bytes used) or (None, 0)."""
    pos, out = 0, {}
    while True:
        if pos >= len(buf):
            return None, 0
        if buf[pos] == 0:
            return out, pos + 1
        n = buf.find(b"\0", pos)
        if n < 0:
            return None, 0
        v = buf.find(b"\0", n + 1)
        if v < 0:
            return None, 0
        out[buf[pos:n].decode()] = buf[n + 1:v].decode(errors="replace")
        pos = v + 1


class BounceFake:
    SERVICES = ("bounce", "defer", "trace")

    def __init__(self, inst, owner_uid=None, owner_gid=None):
        self.requests = []
        self.socks = []
        private = os.path.join(inst.queue, "private")
        os.makedirs(private, exist_ok=True)
        for name in self.SERVICES:
            path = os.path.join(private, name)
            if os.path.exists(path):
                os.unlink(path)
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            os.chmod(path, 0o666)
            s.listen(16)
            self.socks.append(s)
            threading.Thread(target=self._serve, args=(s, name),
                             daemon=True).start()

    def _serve(self, s, name):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            try:
                c.settimeout(10)
                c.sendall(b"protocol\0bounce_protocol\0\0")
                buf = b""
                while True:
                    req, used = _parse_list(buf)
                    if req is not None:
                        break
                    data = c.recv(65536)
                    if not data:
                        raise EOFError
                    buf += data
                req["service"] = name
                self.requests.append(req)
                c.sendall(b"status\0" b"0\0\0")
            except (OSError, EOFError):
                pass
            c.close()

    def find(self, service, rcpt=None):
        return [r for r in self.requests if r["service"] == service and
                (rcpt is None or r.get("rcpt_address") == rcpt)]

    def stop(self):
        for s in self.socks:
            s.close()
