#!/usr/bin/env python3
"""Make the fuzz targets' seed corpora from fixtures/.

Seeds are derived, not committed: the fixtures are the single source of
truth, and `fuzz/corpus/` (where cargo-fuzz keeps what it finds) stays out of
git. Each target's seeds start with the option bytes that target reads
first (see its doc comment), and some carry the canary markers `%P`, `%S`,
`%N` (see fuzz/src/lib.rs) in the secret's place.

Usage: python3 fuzz/seeds.py   (from anywhere; rewrites fuzz/corpus/*/seed-*)
"""

import csv
import io
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
FIXTURES = FUZZ.parent / "fixtures"
CORPUS = FUZZ / "corpus"

# Seeds of the sorted corpus stay small: the first lines are enough to
# reach every branch, and big inputs slow every execution.
CORPUS_LINES = 200


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def read(relative):
    return (FIXTURES / relative).read_bytes()


def is_compressed(data):
    return data.startswith(b"\x1f\x8b") or data.startswith(b"\x28\xb5\x2f\xfd")


def range_bodies():
    """(kind byte, body) for SHA-1 prefix files and an NTLM body cut from the sample."""
    for path in sorted((FIXTURES / "hibp" / "sha1-by-prefix").glob("*.txt")):
        yield path.stem, b"\x00", path.read_bytes()
    ntlm = read("hibp/ntlm-sample.txt").splitlines()[:50]
    yield "ntlm", b"\x01", b"".join(line[5:] + b"\r\n" for line in ntlm)


def main():
    for name, kind, body in range_bodies():
        write("range_body", name, kind + body)
        header = b"credaudit range cache v1\netag \"W/x\"\nfetched 1700000000\n\n"
        write("cache_entry", name, kind + header + body)
    write("range_body", "padding", b"\x00" + b"0123456789ABCDEF0123456789ABCDEF012:0\n%S:1\n")

    write("combolist_line", "leak", read("combolists/leak.txt"))
    write(
        "combolist_line",
        "canary",
        b"alice@example.com:%P\nhttps://host:8443/login:bob:%P\n"
        b"carol;$HEX[43616e617279]\nurl dave %P\n",
    )

    colon = ["hashcat-nt.txt", "pwdump.txt", "ntds.secretsdump"]
    for name in colon:
        for options in (b"\x00", b"\x01"):
            write("colon_dump", f"{name}-{options[0]}", options + read(f"exports/{name}"))
    write("colon_dump", "canary", b"\x00jdoe:%N\nbob:1001:aad3b435b51404eeaad3b435b51404ee:%N:::\nsam:%S\n")

    for path in sorted((FIXTURES / "exports").iterdir()):
        data = path.read_bytes()
        if path.suffix in (".csv", ".tsv") and not is_compressed(data):
            write("csv_export", path.name, b"\x00\x00" + data)
    write("csv_export", "canary", b"\x00\x00email,password\nalice@example.com,%P\nbob,\"%P\"\n")
    write("csv_export", "canary-sha1", b"\x00\x00user,sha1\nalice,%S\nbob,%N\n")

    utf16 = read("exports/hashcat-nt-utf16.txt")
    write("utf16", "hashcat-nt", b"\x07" + utf16[2:])
    users = read("exports/users.csv").decode("utf-8")
    write("utf16", "users", b"\x03" + users.encode("utf-16-le"))
    write("utf16", "surrogates", b"\x01" + "a\U0001F600b".encode("utf-16-le") + b"\x00\xd8A")

    for name in ("sha1-sample.txt", "ntlm-sample.txt"):
        lines = read(f"hibp/{name}").splitlines(keepends=True)[:CORPUS_LINES]
        write("sorted_corpus", name, b"".join(lines))
        write("sorted_corpus", f"{name}-crlf", b"".join(l.rstrip(b"\n") + b"\r\n" for l in lines))
    write("sorted_corpus", "canary", b"%S:3\n")

    hashes = set()
    for name, column in (("reference.csv", "hash"), ("malformed.csv", "hash")):
        text = read(f"hashes/{name}").decode("utf-8")
        for row in csv.DictReader(io.StringIO(text)):
            hashes.add(row[column])
    for i, stored in enumerate(sorted(hashes)):
        write("stored_hash", str(i), stored.encode("utf-8"))
    for name, stored in (("sha1", b"%S"), ("ntlm", b"%N"), ("ldap", b"{SHA}%P"), ("crypt", b"{CRYPT}$6$%P")):
        write("stored_hash", f"canary-{name}", stored)


if __name__ == "__main__":
    main()
