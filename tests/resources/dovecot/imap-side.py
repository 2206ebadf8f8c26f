# SPDX-License-Identifier: LGPL-2.1-or-later
# The IMAP side of test-maildir-dovecot: "run PORT SECONDS SEED" sets and
# clears flags and keywords, copies, moves, appends and creates folders
# with non-ASCII names at random for SECONDS; "dump PORT" prints, for
# every message, "MAILBOX<TAB>MESSAGE-ID<TAB>FLAGS" with the mailbox name
# decoded and the flags sorted, as Dovecot shows them over IMAP.
import base64
import imaplib
import random
import re
import sys
import time

FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "$Forwarded", "$Label1", "Work"]
NAMES = ["Gr\u00fc\u00dfe", "Caf\u00e9", "\u65e5\u672c", "Na\u00efve"]


def encode(name):
    out, run = "", ""
    for ch in name + "\0":
        if ch != "\0" and not (" " <= ch <= "~"):
            run += ch
            continue
        if run:
            b64 = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=")
            out += "&" + b64.replace("/", ",") + "-"
            run = ""
        if ch != "\0":
            out += "&-" if ch == "&" else ch
    return out


def decode(name):
    def part(match):
        text = match.group(1)
        if text == "":
            return "&"
        text = text.replace(",", "/")
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-16-be")
    return re.sub(r"&([^-]*)-", part, name)


def login(port):
    imap = imaplib.IMAP4("127.0.0.1", port)
    imap.login("tester", "secret")
    return imap


def mailboxes(imap):
    names = []
    for line in imap.list()[1]:
        name = line.decode().rsplit(' "." ', 1)[1].strip('"')
        names.append(name)
    return names


def run(port, seconds, seed):
    rng = random.Random(seed)
    imap = login(port)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        boxes = mailboxes(imap)
        box = rng.choice(boxes)
        imap.select('"%s"' % box)
        uids = imap.uid("SEARCH", None, "ALL")[1][0].split()
        action = rng.random()
        if action < 0.05 and len(boxes) < 8:
            imap.create('"%s"' % encode(rng.choice(NAMES) + str(rng.randrange(100))))
        elif action < 0.2 or not uids:
            n += 1
            message = ("From: imap@example.org\r\nSubject: from IMAP %d\r\n"
                       "Message-ID: <imap-%d-%d@example.org>\r\n\r\nbody\r\n" % (n, seed, n))
            imap.append('"%s"' % box, None, None, message.encode())
        elif action < 0.3:
            imap.uid("COPY", rng.choice(uids), '"%s"' % rng.choice(boxes))
        elif action < 0.4:
            imap.uid("MOVE", rng.choice(uids), '"%s"' % rng.choice(boxes))
        else:
            sign = rng.choice("+-")
            imap.uid("STORE", rng.choice(uids), sign + "FLAGS", "(%s)" % rng.choice(FLAGS))
        imap.close()
        time.sleep(0.05)
    imap.logout()


def dump(port):
    imap = login(port)
    for box in sorted(mailboxes(imap)):
        exists = int(imap.select('"%s"' % box, readonly=True)[1][0])
        # Dovecot refuses a FETCH of 1:* in an empty mailbox.
        if exists == 0:
            imap.close()
            continue
        data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")[1]
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
            flags = sorted(f for f in flags if f != "\\Recent")
            mid = re.search(rb"<([^>]*)>", item[1])
            print("%s\t%s\t%s" % (decode(box), mid.group(1).decode() if mid else "",
                                  " ".join(flags)))
        imap.close()
    imap.logout()


if sys.argv[1] == "run":
    run(int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
else:
    dump(int(sys.argv[2]))
