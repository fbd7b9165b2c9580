"""A real OpenLDAP server for tests: Debian's slapd on a free loopback port, with a small directory.

``start_slapd(tmp_dir)`` writes a ``slapd.conf`` (the mdb backend, the core, cosine and
inetOrgPerson schemas), starts ``slapd -f ... -h ldap://127.0.0.1:PORT/`` in the foreground, waits
until it answers, and loads ``DIRECTORY`` with ``ldapadd``. Without slapd the caller skips, or fails
under ``CI=true`` or ``TEST_REQUIRE_ENGINES=1``.
"""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUFFIX = "dc=envkeys,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "directory-admin-password"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SLAPD = "/usr/sbin/slapd"
SCHEMAS = ("core", "cosine", "inetorgperson")

# People (uid: password) and groups (cn: members) of the test directory.
USERS = {"alice": "alice-ldap-password", "bob": "bob-ldap-password", "carol": "carol-ldap-password"}
DIRECTORY_GROUPS = {"ops": ["alice"], "auditors": ["alice", "bob"]}


def required() -> bool:
    """Return whether a missing slapd must fail the test rather than skip it."""
    return any(
        os.environ.get(name, "").strip().lower() in {"1", "true", "yes"} for name in ("CI", "TEST_REQUIRE_ENGINES")
    )


def require_slapd() -> None:
    """Skip the calling test unless slapd and ldapadd are installed (fail instead in CI)."""
    missing = [binary for binary in (SLAPD, "ldapadd", "ldapmodify") if shutil.which(binary) is None]
    if missing:
        reason = f"needs OpenLDAP's {', '.join(missing)} (Debian: slapd ldap-utils)"
        if required():
            pytest.fail(f"{reason}, but CI or TEST_REQUIRE_ENGINES is set.")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: envkeys\no: envkeys\n",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
    ]
    for uid, password in USERS.items():
        entries.append(
            f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid.title()} Example\n"
            f"givenName: {uid.title()}\nsn: Example\nmail: {uid}@envkeys.test\nuserPassword: {password}\n"
        )
    for cn, members in DIRECTORY_GROUPS.items():
        lines = "".join(f"member: uid={uid},{PEOPLE}\n" for uid in members)
        entries.append(f"dn: cn={cn},{GROUPS}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}")
    return "\n".join(entries)


@dataclass
class Slapd:
    """A running slapd: its URI, and how to change the directory and stop it."""

    uri: str
    process: subprocess.Popen
    log: Path
    directory: Path = field(repr=False)

    def modify(self, ldif: str) -> None:
        """Apply an LDIF change (``changetype: modify``) as the directory's administrator."""
        subprocess.run(
            ["ldapmodify", "-x", "-H", self.uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
            input=ldif.encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )

    def stop(self) -> None:
        """Stop slapd and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_slapd(tmp_dir: Path, *, attempts: int = 5) -> Slapd:
    """Start slapd with the test directory loaded; the caller stops it."""
    require_slapd()
    tmp_dir.mkdir(parents=True, exist_ok=True)
    data = tmp_dir / "data"
    data.mkdir(exist_ok=True)
    conf = tmp_dir / "slapd.conf"
    schema_lines = "".join(f"include /etc/ldap/schema/{name}.schema\n" for name in SCHEMAS)
    conf.write_text(
        schema_lines + f"pidfile {tmp_dir / 'slapd.pid'}\n"
        "modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
        f'database mdb\nmaxsize 16777216\nsuffix "{SUFFIX}"\nrootdn "{ROOT_DN}"\nrootpw {ROOT_PASSWORD}\n'
        f"directory {data}\n"
        # People may bind (check their password) and read the directory; nobody else reads passwords.
        "access to attrs=userPassword by self write by anonymous auth by * none\n"
        "access to * by * read\n"
    )
    log = tmp_dir / "slapd.log"
    for _ in range(attempts):
        port = _free_port()
        uri = f"ldap://127.0.0.1:{port}/"
        with log.open("wb") as out:
            # -d 0: stay in the foreground (so the test owns the process) without debug output.
            process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", uri, "-d", "0"], stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.05)
        if process.poll() is None:
            server = Slapd(uri=uri, process=process, log=log, directory=data)
            subprocess.run(
                ["ldapadd", "-x", "-H", uri, "-D", ROOT_DN, "-w", ROOT_PASSWORD],
                input=_ldif().encode(),
                check=True,
                capture_output=True,
                timeout=30,
            )
            return server
    raise RuntimeError(f"slapd did not start: {log.read_text(errors='replace')}")
