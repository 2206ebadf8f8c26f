# SPDX-License-Identifier: LGPL-2.1-or-later
# A fake IMAP server for test-imap's malformed answers: "fake-server.py
# MODE" listens on a free loopback port, prints it, and answers every
# connection sanely up to the point MODE breaks:
#   list    LIST "" "*" gets an answer with an unbalanced parenthesis
#   fetch   FETCH gets RFC822.SIZE that is no number
#   literal FETCH announces a literal of 4 GB and sends three bytes
#   create  an empty INBOX and an empty folder Gone; LIST of one name
#           finds nothing but Gone, CREATE answers NO [ALREADYEXISTS] and
#           DELETE answers NO [NONEXISTENT], as Dovecot did at times
import socket
import sys
import threading

MODE = sys.argv[1]


def serve(conn):
    f = conn.makefile("rwb", buffering=0)
    f.write(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] fake\r\n")
    for line in f:
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        tag, command = parts[0], parts[1].upper() if len(parts) > 1 else ""
        if command == "CAPABILITY":
            f.write(b"* CAPABILITY IMAP4rev1\r\n" + tag.encode() + b" OK done\r\n")
        elif command == "LOGIN":
            f.write(tag.encode() + b" OK logged in\r\n")
        elif command == "NOOP":
            f.write(tag.encode() + b" OK done\r\n")
        elif command == "LIST" and line.rstrip().endswith(b'""'):
            f.write(b'* LIST (\\Noselect) "/" ""\r\n' + tag.encode() + b" OK done\r\n")
        elif command == "LIST" and MODE == "create":
            pattern = parts[-1].strip('"')
            if pattern == "*":
                f.write(b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
            if pattern in ("*", "Gone"):
                f.write(b'* LIST (\\HasNoChildren) "/" Gone\r\n')
            f.write(tag.encode() + b" OK done\r\n")
        elif command == "CREATE" and MODE == "create":
            f.write(tag.encode() + b" NO [ALREADYEXISTS] Mailbox already exists\r\n")
        elif command == "DELETE" and MODE == "create":
            f.write(tag.encode() + b" NO [NONEXISTENT] Mailbox doesn't exist\r\n")
        elif command == "SELECT" and MODE == "create":
            f.write(b"* 0 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 1] n\r\n" +
                    tag.encode() + b" OK [READ-WRITE] done\r\n")
        elif command == "LIST":
            if MODE == "list":
                f.write(b'* LIST (\\HasNoChildren "/" INBOX\r\n')
            else:
                f.write(b'* LIST (\\HasNoChildren) "/" INBOX\r\n')
            f.write(tag.encode() + b" OK done\r\n")
        elif command == "SELECT":
            f.write(b"* 3 EXISTS\r\n* OK [UIDVALIDITY 7] v\r\n* OK [UIDNEXT 4] n\r\n" +
                    tag.encode() + b" OK [READ-WRITE] done\r\n")
        elif command in ("FETCH", "UID"):
            if MODE == "literal":
                f.write(b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM)] {4000000000}\r\nabc")
                break
            f.write(b"* 1 FETCH (UID 1 FLAGS (\\Seen) RFC822.SIZE abc)\r\n" +
                    tag.encode() + b" OK done\r\n")
        elif command == "LOGOUT":
            f.write(b"* BYE\r\n" + tag.encode() + b" OK done\r\n")
            break
        else:
            f.write(tag.encode() + b" BAD unknown\r\n")
    conn.close()


def main():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    print(server.getsockname()[1], flush=True)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
