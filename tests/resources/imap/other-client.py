# SPDX-License-Identifier: LGPL-2.1-or-later
# Another IMAP client beside the resource in test-imap, on Dovecot's plain
# loopback port (user "user", password "secret"):
#   store PORT MAILBOX UIDS ITEM FLAGS   UID STORE, e.g. 1:5 +FLAGS "(\Flagged)"
#   append PORT MAILBOX FILE [FLAGS]      APPEND the file's bytes
#   dump PORT                             "MAILBOX<TAB>MESSAGE-ID<TAB>FLAGS" for
#                                         every message, flags sorted, \Recent left out
#   body PORT MAILBOX MESSAGE-ID          the bodies of the messages with that
#                                         Message-ID, in UID order, each followed by
#                                         a line "--"
#   move PORT MAILBOX UID DESTINATION     UID MOVE of one message
#   create PORT MAILBOX / delete PORT MAILBOX / expunge PORT MAILBOX
import email.parser
import imaplib
import re
import sys


def connect(port):
    imap = imaplib.IMAP4("127.0.0.1", int(port))
    imap.login("user", "secret")
    return imap


def check(result):
    if result[0] != "OK":
        sys.exit("IMAP: %r" % (result,))
    return result[1]


def quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailboxes(imap):
    names = []
    for line in check(imap.list('""', "*")):
        match = re.match(rb'\((.*?)\) (?:"(?:\\.|[^"])*"|NIL) (.*)$', line)
        flags, name = match.group(1), match.group(2).decode()
        if b"\\Noselect" in flags or b"\\NonExistent" in flags:
            continue
        if name.startswith('"'):
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        names.append(name)
    return names


def dump(imap):
    out = []
    for name in mailboxes(imap):
        check(imap.select(quote(name), readonly=True))
        data = check(imap.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"))
        for i in range(0, len(data)):
            item = data[i]
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \((.*?)\)", item[0]).group(1).decode().split()
            flags = sorted(f for f in flags if f != "\\Recent")
            header = email.parser.BytesHeaderParser().parsebytes(item[1])
            message_id = (header.get("Message-ID") or "").strip().strip("<>")
            out.append("%s\t%s\t%s" % (name, message_id, " ".join(flags)))
    print("\n".join(sorted(out)))


def main():
    command, port = sys.argv[1], sys.argv[2]
    imap = connect(port)
    if command == "store":
        mailbox, uids, item, flags = sys.argv[3:7]
        check(imap.select(quote(mailbox)))
        check(imap.uid("STORE", uids, item, flags))
    elif command == "append":
        mailbox, path = sys.argv[3:5]
        flags = sys.argv[5] if len(sys.argv) > 5 else None
        with open(path, "rb") as f:
            check(imap.append(quote(mailbox), flags, None, f.read()))
    elif command == "dump":
        dump(imap)
    elif command == "body":
        mailbox, message_id = sys.argv[3:5]
        check(imap.select(quote(mailbox), readonly=True))
        uids = check(imap.uid("SEARCH", "HEADER", "Message-ID", "<%s>" % message_id))[0].split()
        for uid in sorted(uids, key=int):
            data = check(imap.uid("FETCH", uid, "(BODY.PEEK[])"))
            sys.stdout.write(data[0][1].decode() + "--\n")
    elif command == "move":
        mailbox, uid, destination = sys.argv[3:6]
        check(imap.select(quote(mailbox)))
        check(imap.uid("MOVE", uid, quote(destination)))
    elif command == "copy":
        mailbox, uid, destination = sys.argv[3:6]
        check(imap.select(quote(mailbox)))
        check(imap.uid("COPY", uid, quote(destination)))
    elif command == "create":
        check(imap.create(quote(sys.argv[3])))
    elif command == "delete":
        check(imap.delete(quote(sys.argv[3])))
    elif command == "expunge":
        check(imap.select(quote(sys.argv[3])))
        check(imap.expunge())
    else:
        sys.exit("unknown command " + command)
    imap.logout()


main()
