"""A real authoritative DNS server of the tests' own, on 127.0.0.1 (UDP and TCP on one port), built on dnspython's
message classes (already a dependency of digest: no new package).

It serves the zones it is given and nothing else: a name under a zone that has no record is NXDOMAIN (or, when the
name has records of another type, an empty answer), and a name under no zone is REFUSED, as an authoritative
server answers a question it is not authoritative for: the resolver then has no server that answers, which is
how "a name that does not resolve" looks. Answers too large for UDP's 512 bytes are truncated, and the resolver
asks again over TCP, as it would of any server (a 2048-bit DKIM key is about that size).
"""

from __future__ import annotations

import socketserver
import struct
from collections.abc import Iterable

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from support.serving import serve_in_thread

Records = dict[tuple[str, str], list[str]]  # (name, type) → record texts in zone-file syntax


def txt(value: str) -> str:
    """A TXT record's text in zone-file syntax: quoted, cut into strings of at most 255 characters."""
    return " ".join('"' + value[i : i + 255].replace('"', '\\"') + '"' for i in range(0, len(value), 255))


class DnsServer:
    """Serves ``records`` for the ``zones`` named; change ``records`` between questions to change the answers."""

    def __init__(self, zones: Iterable[str], records: Records | None = None) -> None:
        self.zones = [dns.name.from_text(zone) for zone in zones]
        self.records: Records = dict(records or {})
        self.questions: list[tuple[str, str]] = []
        served = self

        class Udp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                data, sock = self.request
                sock.sendto(served.answer(data, 512), self.client_address)

        class Tcp(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                size = struct.unpack("!H", self._exactly(2))[0]
                wire = served.answer(self._exactly(size), 65535)
                self.request.sendall(struct.pack("!H", len(wire)) + wire)

            def _exactly(self, count: int) -> bytes:
                data = b""
                while len(data) < count:
                    chunk = self.request.recv(count - len(data))
                    if not chunk:
                        raise ConnectionError("closed")
                    data += chunk
                return data

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        for _ in range(20):
            self.udp = socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
            self.port = int(self.udp.server_address[1])
            try:  # the port the system gave for UDP may be in use for TCP (another test's connection): pick again
                self.tcp = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), Tcp)
                break
            except OSError:
                self.udp.server_close()
        else:
            raise OSError("no port free for both UDP and TCP on 127.0.0.1")
        for server in (self.udp, self.tcp):
            server.daemon_threads = True
            serve_in_thread(server)

    @property
    def nameserver(self) -> str:
        """As the config and DIGEST_NAMESERVERS take it."""
        return f"127.0.0.1:{self.port}"

    def answer(self, data: bytes, limit: int) -> bytes:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name, kind = question.name, dns.rdatatype.to_text(question.rdtype)
        self.questions.append((name.to_text().rstrip(".").lower(), kind))
        if not any(name.is_subdomain(zone) for zone in self.zones):
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        response.flags |= dns.flags.AA
        key = name.to_text().rstrip(".").lower()
        found = self.records.get((key, kind))
        alias = self.records.get((key, "CNAME")) if kind != "CNAME" else None
        if found:
            response.answer.append(dns.rrset.from_text_list(name, 300, dns.rdataclass.IN, question.rdtype, found))
        elif alias:  # the alias and, when this server has them, the target's records (as an authoritative server does)
            response.answer.append(dns.rrset.from_text_list(name, 300, dns.rdataclass.IN, dns.rdatatype.CNAME, alias))
            target = dns.name.from_text(alias[0])
            if target_records := self.records.get((target.to_text().rstrip(".").lower(), kind)):
                response.answer.append(dns.rrset.from_text_list(target, 300, dns.rdataclass.IN, question.rdtype, target_records))
        elif not any(owner == key or owner.endswith("." + key) for owner, _ in self.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    def stop(self) -> None:
        for server in (self.udp, self.tcp):
            server.shutdown()
            server.server_close()
